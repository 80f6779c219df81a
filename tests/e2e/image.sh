#!/usr/bin/env bash
# End-to-end tests of `postkit thumbnail` (and so of the image loader):
# EXIF orientation 1..8, ICC profiles (AdobeRGB, CMYK), 16-bit, grey, alpha,
# damaged files, naming, safe outputs; then real photos and camera RAW
# files from $PK_CORPORA. Test pictures are made here with the vips
# command (libvips-tools) and exiftool.
. "$(dirname "$0")/lib.sh"

T=$SUITE_TMP
A98=/usr/share/color/icc/ghostscript/a98.icc
CMYK=/usr/share/color/icc/ghostscript/default_cmyk.icc

have() { command -v "$1" >/dev/null 2>&1; }

# getpoint IMAGE X Y — the pixel's values, rounded, space-separated.
getpoint() { vips getpoint "$1" "$2" "$3" | awk '{for (i = 1; i <= NF; i++) printf "%s%d", (i > 1 ? " " : ""), $i + 0.5; print ""}'; }
# near "A B C" "X Y Z" TOL — every component within TOL.
near() {
  local a=($1) b=($2) i
  [ ${#a[@]} -ge ${#b[@]} ] || return 1
  for i in "${!b[@]}"; do
    local d=$((a[i] - b[i])); d=${d#-}
    [ "$d" -le "$3" ] || return 1
  done
}
# far "A B C" "X Y Z" TOL — some component differs by more than TOL.
far() { ! near "$1" "$2" "$3"; }
size_is() { [ "$(vipsheader -f width "$1")x$(vipsheader -f height "$1")" = "$2" ]; }
bands_is() { [ "$(vipsheader -f bands "$1")" = "$2" ]; }
lines() { wc -l <"$1" | tr -d ' '; }

if ! have vips || ! have exiftool; then
  skip "generated pictures" "needs the vips command (libvips-tools) and exiftool"
  finish
  exit 0
fi

# ---- the upright marker: grey, red top-left, blue top-right --------------
vips black "$T/b.v" 60 40 --bands 3
vips linear "$T/b.v" "$T/up.v" 1 128 --uchar
vips draw_rect "$T/up.v" "255 0 0" 0 0 16 16 --fill
vips draw_rect "$T/up.v" "0 0 255" 44 0 16 16 --fill

# The stored picture that EXIF orientation N shows as the marker.
stored() {
  local n=$1 out=$2
  case $n in
    1) vips copy "$T/up.v" "$out" ;;
    2) vips flip "$T/up.v" "$out" horizontal ;;
    3) vips rot "$T/up.v" "$out" d180 ;;
    4) vips flip "$T/up.v" "$out" vertical ;;
    5) vips rot "$T/up.v" "$T/t.v" d90 && vips flip "$T/t.v" "$out" horizontal ;;
    6) vips rot "$T/up.v" "$out" d270 ;;
    7) vips rot "$T/up.v" "$T/t.v" d270 && vips flip "$T/t.v" "$out" horizontal ;;
    8) vips rot "$T/up.v" "$out" d90 ;;
  esac
}

for n in 1 2 3 4 5 6 7 8; do
  stored $n "$T/o$n.jpg[Q=95]"
  exiftool -q -overwrite_original -n -Orientation=$n "$T/o$n.jpg"
  run_pk thumbnail --size 60 "$T/o$n.jpg" -o "$T/o$n-thumb.jpg"
  expect "orientation $n: exit 0" [ "$rc" -eq 0 ]
  expect "orientation $n: upright size 60x40" size_is "$T/o$n-thumb.jpg" 60x40
  expect "orientation $n: red top-left" near "$(getpoint "$T/o$n-thumb.jpg" 8 8)" "255 0 0" 40
  expect "orientation $n: blue top-right" near "$(getpoint "$T/o$n-thumb.jpg" 52 8)" "0 0 255" 40
  expect "orientation $n: grey bottom-left" near "$(getpoint "$T/o$n-thumb.jpg" 8 32)" "128 128 128" 12
done

# ---- colour: AdobeRGB and CMYK through their ICC profiles ----------------
vips black "$T/p.v" 64 16 --bands 3
vips linear "$T/p.v" "$T/patches.v" 1 0 --uchar
vips draw_rect "$T/patches.v" "200 60 50" 0 0 16 16 --fill
vips draw_rect "$T/patches.v" "60 160 70" 16 0 16 16 --fill
vips draw_rect "$T/patches.v" "50 70 190" 32 0 16 16 --fill
vips draw_rect "$T/patches.v" "128 128 128" 48 0 16 16 --fill
vips copy "$T/patches.v" "$T/patches-srgb.v" --interpretation srgb
if [ -r "$A98" ]; then
  vips icc_transform "$T/patches-srgb.v" "$T/adobe.tif" "$A98" --input-profile srgb --depth 16
  run_pk thumbnail --size 64 --format png "$T/adobe.tif" -o "$T/adobe.png"
  expect "AdobeRGB 16-bit TIFF: exit 0" [ "$rc" -eq 0 ]
  i=0
  for want in "200 60 50" "60 160 70" "50 70 190" "128 128 128"; do
    expect "AdobeRGB patch $i back to its sRGB colour" near "$(getpoint "$T/adobe.png" $((i * 16 + 8)) 8)" "$want" 3
    i=$((i + 1))
  done
  # The file's own numbers are far from sRGB: a conversion took place.
  green=$(getpoint "$T/adobe.tif" 24 8 | awk '{printf "%d %d %d", $1 / 257, $2 / 257, $3 / 257}')
  expect "AdobeRGB file's own numbers differ from sRGB ($green): a conversion took place" \
    far "$green" "60 160 70" 10
else
  skip "AdobeRGB profile" "no $A98 (package libgs-common)"
fi
if [ -r "$CMYK" ]; then
  vips icc_transform "$T/patches-srgb.v" "$T/cmyk.jpg[Q=98]" "$CMYK" --input-profile srgb
  expect "CMYK JPEG made" [ "$(vipsheader -f bands "$T/cmyk.jpg")" = 4 ]
  run_pk thumbnail --size 64 --format png "$T/cmyk.jpg" -o "$T/cmyk.png"
  expect "CMYK JPEG: exit 0" [ "$rc" -eq 0 ]
  expect "CMYK JPEG: sRGB thumbnail (3 bands)" bands_is "$T/cmyk.png" 3
  expect "CMYK JPEG: red patch close" near "$(getpoint "$T/cmyk.png" 8 8)" "200 60 50" 12
  expect "CMYK JPEG: grey patch close" near "$(getpoint "$T/cmyk.png" 56 8)" "128 128 128" 6
else
  skip "CMYK profile" "no $CMYK (package libgs-common)"
fi

# ---- depth, grey, alpha ----------------------------------------------------
vips linear "$T/patches-srgb.v" "$T/p16.v" 257 0
vips cast "$T/p16.v" "$T/p16b.v" ushort
vips copy "$T/p16b.v" "$T/p16.tif" --interpretation rgb16
run_pk thumbnail --size 32 --format png "$T/p16.tif" -o "$T/p16.png"
expect "16-bit TIFF: exit 0" [ "$rc" -eq 0 ]
expect "16-bit TIFF: 8-bit thumbnail with the same colour" near "$(getpoint "$T/p16.png" 4 4)" "200 60 50" 2

vips extract_band "$T/up.v" "$T/grey.png" 1
run_pk thumbnail "$T/grey.png" -o "$T/grey-thumb.jpg"
expect "grey PNG: exit 0" [ "$rc" -eq 0 ]
expect "grey PNG: thumbnail is sRGB, 3 bands" bands_is "$T/grey-thumb.jpg" 3
expect "grey PNG: not enlarged" size_is "$T/grey-thumb.jpg" 60x40

vips black "$T/a0.v" 32 32 --bands 4
vips draw_rect "$T/a0.v" "255 0 0 255" 0 0 16 32 --fill
vips copy "$T/a0.v" "$T/alpha.png" --interpretation srgb
run_pk thumbnail --format png "$T/alpha.png" -o "$T/alpha-thumb.png"
expect "alpha PNG to PNG keeps alpha" bands_is "$T/alpha-thumb.png" 4
run_pk thumbnail "$T/alpha.png" -o "$T/alpha-thumb.jpg"
expect "alpha PNG to JPEG: transparent becomes white" near "$(getpoint "$T/alpha-thumb.jpg" 24 16)" "255 255 255" 3
expect "alpha PNG to JPEG: opaque red stays" near "$(getpoint "$T/alpha-thumb.jpg" 8 16)" "255 0 0" 8

# ---- damaged and wrong inputs ------------------------------------------------
vips resize "$T/up.v" "$T/big.v" 20
vips copy "$T/big.v" "$T/whole.jpg"
vips copy "$T/big.v" "$T/whole.png"
for f in whole.jpg whole.png; do
  head -c $(($(stat -c %s "$T/$f") / 2)) "$T/$f" >"$T/cut-$f"
  run_pk thumbnail "$T/cut-$f" -o "$T/cut-$f.thumb.jpg"
  expect "truncated ${f#whole.}: exit 3" [ "$rc" -eq 3 ]
  expect "truncated ${f#whole.}: one line naming the file" one_line_naming "cut-$f"
  expect "truncated ${f#whole.}: says truncated" grep -q truncated "$err"
  expect "truncated ${f#whole.}: nothing written" [ ! -e "$T/cut-$f.thumb.jpg" ]
done
printf 'hello\n' >"$T/notes.txt"
run_pk thumbnail "$T/notes.txt" -o "$T/notes.jpg"
expect "text file: exit 3, not an image" bash -c "[ $rc -eq 3 ] && grep -q 'not an image' '$err'"
if have ffmpeg; then
  ffmpeg -v quiet -y -f lavfi -i testsrc=d=1:s=160x120 "$T/clip.mp4"
  run_pk thumbnail "$T/clip.mp4" -o "$T/clip.jpg"
  expect "video: exit 3, says it is a video" bash -c "[ $rc -eq 3 ] && grep -q 'not an image: a video' '$err'"
fi

# ---- several files, naming, safe outputs -------------------------------------
mkdir -p "$T/many" "$T/sub" "$T/sub2"
cp "$T/whole.jpg" "$T/sub/whole.jpg"
cp "$T/whole.jpg" "$T/sub2/whole.jpg"
run_pk thumbnail --json --size 100 "$T/whole.jpg" "$T/whole.png" "$T/cut-whole.jpg" "$T/sub/whole.jpg" \
  "$T/sub2/whole.jpg" -o "$T/many"
expect "several files, one damaged: exit 3" [ "$rc" -eq 3 ]
expect "several files: the damaged one reported once" [ "$(grep -c cut-whole.jpg "$err")" -eq 1 ]
expect "several files: four thumbnails" [ "$(ls "$T/many" | grep -c '\.jpg$')" -eq 4 ]
expect "naming: first keeps NAME.jpg" [ -f "$T/many/whole.jpg" ]
expect "naming: same stem keeps its whole name" [ -f "$T/many/whole.png.jpg" ]
expect "naming: same name from another folder keeps its whole name" [ -f "$T/many/whole.jpg.jpg" ]
expect "naming: then a number" [ -f "$T/many/whole-2.jpg" ]
expect "several files: provenance beside each" [ -f "$T/many/whole.jpg.postkit.json" ]
if have jq; then
  expect "JSON: four records with input, output, width, height, ms" \
    [ "$(jq '[.results[] | select(.output and .width == 100 and .height and .ms and .input)] | length' "$out")" -eq 4 ]
  expect "JSON: one error record" [ "$(jq '[.results[] | select(.error)] | length' "$out")" -eq 1 ]
fi
cp "$T/many/whole.jpg" "$T/before.jpg"
run_pk thumbnail --size 50 "$T/whole.jpg" -o "$T/many"
expect "existing output: exit 4" [ "$rc" -eq 4 ]
expect "existing output: left untouched" cmp -s "$T/many/whole.jpg" "$T/before.jpg"
run_pk thumbnail --size 50 --force "$T/whole.jpg" -o "$T/many"
expect "--force replaces it" size_is "$T/many/whole.jpg" 50x33
run_pk thumbnail "$T/whole.jpg" "$T/whole.png" -o "$T/one.jpg"
expect "several inputs to a file: exit 4" [ "$rc" -eq 4 ]
run_pk thumbnail "$T/whole.jpg" -o "$T/missing-dir/"
expect "missing folder: exit 4" [ "$rc" -eq 4 ]
run_pk thumbnail --format png "$T/whole.jpg" -o "$T/x.webp"
expect "--format against the extension: exit 2" [ "$rc" -eq 2 ]
run_pk thumbnail "$T/whole.jpg" -o "$T/x.webp"
expect "extension decides the format" [ "$(vipsheader -f vips-loader "$T/x.webp")" = webpload ]
expect "no sanitizer report" no_sanitizer_report

# ---- real photos ---------------------------------------------------------------
if have_corpus; then
  mapfile -t photos < <(cd "$PK_CORPORA" && find faces tagging image_neardup superres color_exposure \
    -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) 2>/dev/null | sort)
  mapfile -t damaged < <(printf '%s\n' "${photos[@]}" | grep -i corrupt)
  mkdir -p "$T/corpora"
  (cd "$PK_CORPORA" && "$POSTKIT" thumbnail --json -o "$T/corpora" "${photos[@]}") >"$out" 2>"$err"
  rc=$?
  expect "corpora photos (${#photos[@]}): exit 3 only for the damaged one" [ "$rc" -eq 3 ]
  # Warnings (a grey JPEG carrying an RGB profile) are not failures.
  only_damaged() { [ "$(grep -vc 'warning:' "$err")" -eq "${#damaged[@]}" ] && grep -q corrupt "$err"; }
  expect "corpora photos: only ${#damaged[@]} failure(s), the damaged file" only_damaged
  expect "corpora photos: a thumbnail for every other photo" \
    [ "$(ls "$T/corpora" | grep -c '\.jpg$')" -eq $((${#photos[@]} - ${#damaged[@]})) ]
  if have jq; then
    expect "corpora photos: every thumbnail within 512 px" \
      [ "$(jq '[.results[] | select(.width and (.width > 512 or .height > 512))] | length' "$out")" -eq 0 ]
  fi
  expect "corpora photos: no sanitizer report" no_sanitizer_report
else
  skip "corpora photos" "no $PK_CORPORA"
fi

# ---- camera RAW ------------------------------------------------------------------
if have_corpus raw; then
  for f in "$PK_CORPORA"/raw/*.CRW "$PK_CORPORA"/raw/*.KDC; do
    b=$(basename "$f")
    run_pk thumbnail "$f" -o "$T/$b.jpg"
    expect "RAW $b: exit 0" [ "$rc" -eq 0 ]
    w=$(vipsheader -f width "$T/$b.jpg"); h=$(vipsheader -f height "$T/$b.jpg")
    expect "RAW $b: longest side 512" [ "$w" -eq 512 -o "$h" -eq 512 ]
    mean=$(vips avg "$T/$b.jpg" | awk '{printf "%d", $1}')
    expect "RAW $b: plausible brightness (mean $mean)" [ "$mean" -gt 30 -a "$mean" -lt 225 ]
  done
  # The picture's shape (MANIFEST sizes): the Canons' 640x480 embedded
  # previews frame a little wider than the developed 2312x1720.
  aspect_near() { awk -v w="$(vipsheader -f width "$1")" -v h="$(vipsheader -f height "$1")" -v r="$2" \
    'BEGIN { d = w / h / r - 1; exit !(d < 0.015 && d > -0.015) }'; }
  expect "RAW: Canon G2 thumbnail has the 2312:1720 shape" aspect_near "$T/Canon_PowerShot_G2_CRW_0304.CRW.jpg" 1.3442
  expect "RAW: Kodak DC120 non-square pixels stretched to 1301:976" aspect_near "$T/Kodak_DC120_P003908.KDC.jpg" 1.3330
  expect "RAW: Kodak DC50 768:512" aspect_near "$T/Kodak_DC50_DC0008L.KDC.jpg" 1.5
  head -c 300000 "$PK_CORPORA/raw/Kodak_DC120_P003908.KDC" >"$T/cut.KDC"
  run_pk thumbnail "$T/cut.KDC" -o "$T/cut-kdc.jpg"
  expect "truncated RAW: exit 3" [ "$rc" -eq 3 ]
  expect "truncated RAW: one line naming the file" one_line_naming "cut.KDC"
else
  skip "camera RAW" "no $PK_CORPORA/raw"
fi

finish
