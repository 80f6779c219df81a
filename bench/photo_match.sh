# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/photo_match.sh — `postkit photo match` on 24-megapixel JPEGs (decode,
# measure, exposure + white balance + colour transfer + roll-off, encode at
# quality 92, metadata, provenance, contact sheet) against the least any
# tool must do: libvips decoding, applying one linear op and encoding the
# same files at the same quality, two at a time (xargs -P2) on the two cores.
# The photos are made from real ones of the corpora (deepface, ImageNet),
# enlarged to 6000×4000 with sensor-like noise so they compress like camera
# files (~10 MB each), each with its own exposure and colour.
about="photo match of 6 × 24 MP JPEGs (MP/s, ≤ 1.5× a plain vips linear over the same files)"
target=1.5

# make_photo SRC OUT GAIN_R GAIN_G GAIN_B — SRC enlarged to 6000×4000, noise
# added, channels scaled (a cast and an exposure), saved as a JPEG.
make_photo() {
  local src=$1 out=$2 w=$BENCH_WORK/tmp
  mkdir -p "$w"
  vips thumbnail "$src" "$w/big.v" 6000 --height 4000 --crop centre
  for b in 1 2 3; do vips gaussnoise "$w/n$b.v" 6000 4000 --sigma 4 --mean 0; done
  vips bandjoin "$w/n1.v $w/n2.v $w/n3.v" "$w/noise.v"
  vips linear "$w/big.v" "$w/cast.v" "$3 $4 $5" "0 0 0"
  vips add "$w/cast.v" "$w/noise.v" "$w/sum.v"
  vips cast "$w/sum.v" "$w/u8.v" uchar
  vips copy "$w/u8.v" "${out}[Q=92]"
  rm -rf "$w"
}

prepare() {
  command -v vips >/dev/null || { echo "  the vips command is missing (libvips-tools)"; return 1; }
  [ -x /usr/bin/time ] || { echo "  /usr/bin/time is missing (package time)"; return 1; }
  local src=$PK_CORPORA/faces/deepface src2=$PK_CORPORA/tagging/imagenet_samples
  if [ ! -d "$src" ] || [ ! -d "$src2" ]; then echo "  no corpora at $PK_CORPORA"; return 1; fi
  local in=$BENCH_WORK/in
  mkdir -p "$in" "$BENCH_WORK/out" "$BENCH_WORK/peer"
  make_photo "$src/img1.jpg" "$in/ref.jpg" 1 1 1
  make_photo "$src/img2.jpg" "$in/a.jpg" 1.3 1.1 0.8
  make_photo "$src/couple.jpg" "$in/b.jpg" 0.7 0.7 0.75
  make_photo "$src2/n09428293_seashore.JPEG" "$in/c.jpg" 0.9 1 1.2
  make_photo "$src2/n03877845_palace.JPEG" "$in/d.jpg" 1.2 1.2 1.2
  make_photo "$src/img10.jpg" "$in/e.jpg" 1 0.9 0.8
  make_photo "$src2/n04285008_sports_car.JPEG" "$in/f.jpg" 0.8 0.9 1
  echo "  6 photos of $(vipsheader -f width "$in/a.jpg")x$(vipsheader -f height "$in/a.jpg"), $(du -ch "$in"/[a-f].jpg | tail -1 | cut -f1), + the reference"
  cat >"$BENCH_WORK/peer.sh" <<SH
for f in "$in"/[a-f].jpg; do printf '%s\\0' "\$f"; done |
  xargs -0 -P2 -I{} sh -c 'vips linear "\$1" "$BENCH_WORK/peer/\$(basename "\$1")[Q=92]" 1.1 0' _ {}
SH
  bash "$BENCH_WORK/peer.sh" || { echo "  vips linear failed"; return 1; }
  "$POSTKIT" photo match --ref "$in/ref.jpg" "$in"/[a-f].jpg -o "$BENCH_WORK/out" --force -q >/dev/null ||
    { echo "  postkit photo match failed"; return 1; }
}

postkit_cmd="'$POSTKIT' photo match --ref '$BENCH_WORK/in/ref.jpg' $BENCH_WORK/in/[a-f].jpg -o '$BENCH_WORK/out' --force -q"
peer_names=("vips linear, xargs -P2")
peer_cmds=("bash '$BENCH_WORK/peer.sh'")

# Throughput of the median run (megapixels in per second, target 25), and
# peak memory for 2, 12 and 24 photos (the 6 repeated under other names):
# past the first few photos (libvips' caches, one picture per worker) it
# must not grow with the number of photos.
report() {
  local in=$BENCH_WORK/in mp median rate m2 m12 m24 rc=0 x k
  mp=$(( $(vipsheader -f width "$in/a.jpg") * $(vipsheader -f height "$in/a.jpg") * 6 ))
  median=$(jq '.results[0].median' "$1")
  rate=$(awk -v p="$mp" -v t="$median" 'BEGIN { printf "%.1f", p / 1e6 / t }')
  echo "  postkit: $((mp / 1000000)) MP in $(printf '%.3f' "$median") s = $rate MP/s (target >= 25): $(awk -v r="$rate" 'BEGIN { print (r >= 25 ? "met" : "MISSED") }')"
  awk -v r="$rate" 'BEGIN { exit !(r >= 25) }' || rc=1
  mkdir -p "$BENCH_WORK/mem" "$BENCH_WORK/many"
  for x in a b c d e f; do
    for k in 1 2 3 4; do ln -sf "$in/$x.jpg" "$BENCH_WORK/many/$x-$k.jpg"; done
  done
  peak() {
    /usr/bin/time -f %M "$POSTKIT" photo match --ref "$in/ref.jpg" "$@" -o "$BENCH_WORK/mem" --force -q \
      2>&1 >/dev/null | tail -1
  }
  m2=$(peak "$in/a.jpg" "$in/b.jpg")
  m12=$(peak "$BENCH_WORK"/many/*-[12].jpg)
  m24=$(peak "$BENCH_WORK"/many/*.jpg)
  echo "  peak memory (RSS): 2 photos $((m2 / 1024)) MB, 12 photos $((m12 / 1024)) MB, 24 photos $((m24 / 1024)) MB"
  # Within 10% (or 20 MB): allocator and thread-timing noise, no growth.
  [ "$m24" -le $((m12 + m12 / 10 + 20480)) ] || { echo "  peak memory grows with the number of photos"; rc=1; }
  return $rc
}
