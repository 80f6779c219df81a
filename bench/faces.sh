# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/faces.sh — `postkit faces` end to end (decode with shrink-on-load,
# detect, align, embed, expression, store, cluster) over real photos of the
# corpora resized to 12 megapixels (JPEG, quality 90).
#
# The issue's target is absolute: at least 20 photos/s on 2 cores. bench/run
# compares postkit with peers, so the peer here is that budget itself: a
# command that takes exactly N / 20 seconds; postkit meets the target when it
# is no slower (target 1.0). prepare also runs postkit once with --json and
# prints the per-stage times, CPU time and peak memory of that run.
# Photos are made once into ${BENCH_CACHE:-/tmp/postkit-bench-faces}.
about="postkit faces --all over 12 MP photos vs the 20 photos/s budget"
target=1.0

prepare() {
  if [ ! -d "$PK_CORPORA" ]; then echo "  no corpora at $PK_CORPORA"; return 1; fi
  command -v vips >/dev/null || { echo "  vips (libvips-tools) is not installed"; return 1; }
  local cache=${BENCH_CACHE:-/tmp/postkit-bench-faces} want=${FACES_PHOTOS:-240}
  local photos="$cache/photos"
  # Made once per size: the marker holds the size asked for (a source that
  # cannot be decoded gives no photo, so counting the photos would redo it).
  if [ "$(cat "$photos/.made" 2>/dev/null)" != "$want" ]; then
    rm -rf "$photos" && mkdir -p "$photos"
    # Real photos only (no generated pictures), each scaled to ~12 MP.
    find "$PK_CORPORA/faces" "$PK_CORPORA/tagging" "$PK_CORPORA/color_exposure" \
      "$PK_CORPORA/image_neardup" "$PK_CORPORA/superres" -type f \
      -regextype posix-extended -iregex '.*\.(jpe?g|png)' ! -iname '*corrupt*' | sort | head -n "$want" |
      awk '{ printf "%s\n%s/p%04d.jpg\n", $0, dir, NR }' dir="$photos" |
      xargs -d '\n' -P "$(nproc)" -n 2 sh -c '
        w=$(vipsheader -f width "$0") h=$(vipsheader -f height "$0")
        s=$(echo "sqrt(12000000 / ($w * $h))" | bc -l)
        vips resize "$0" "$1[Q=90,strip]" "$s" 2>/dev/null || true'
    echo "$want" >"$photos/.made"
  fi
  local n
  n=$(find "$photos" -name '*.jpg' | wc -l)
  [ "$n" -ge 200 ] || { echo "  only $n photos could be made (need 200)"; return 1; }
  echo "  $n photos of $(vipsheader -f width "$photos/p0001.jpg")x$(vipsheader -f height "$photos/p0001.jpg") (~12 MP), $(du -sh "$photos" | cut -f1)"
  local cat="$BENCH_WORK/faces.db"
  "$POSTKIT" index --catalog "$cat" --no-thumbnails "$photos" >/dev/null ||
    { echo "  postkit index failed"; return 1; }
  # One measured run: per-stage times, CPU time and peak memory.
  /usr/bin/time -f "%M" -o "$BENCH_WORK/rss" "$POSTKIT" faces --all --catalog "$cat" --json \
    >"$BENCH_WORK/one.json" 2>/dev/null || { echo "  postkit faces failed"; return 1; }
  jq -r --arg rss "$(cat "$BENCH_WORK/rss")" '.results[] | select(.summary) |
    "  one run: \(.photos) photos, \(.faces) faces in \(.seconds) s = \(.per_second) photos/s; CPU \(.cpu_seconds) s; peak memory \($rss | tonumber / 1024 | floor) MB",
    "  per-stage wall time summed over both workers (s): decode \(.stage_seconds.decode), detect \(.stage_seconds.detect) (\(.stage_seconds.detector_runs) detector runs), align \(.stage_seconds.align), embed \(.stage_seconds.embed), expression \(.stage_seconds.expression)",
    "  people: \(.people.new) new, \(.people.new_faces) faces in them, \(.people.waiting) waiting"' "$BENCH_WORK/one.json"
  # The budget counts the photos catalogued (identical files are one).
  n=$(jq '.results[-1].photos' "$BENCH_WORK/one.json")
  postkit_cmd="$POSTKIT faces --all --reindex --catalog $cat"
  peer_names=("budget-20-photos-per-s")
  peer_cmds=("sleep $(echo "$n / 20" | bc -l)")
}
