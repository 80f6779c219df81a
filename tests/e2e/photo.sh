#!/usr/bin/env bash
# End-to-end tests of `postkit photo match` and `postkit photo auto`: a photo
# given a known exposure and colour cast is matched back to its original;
# bad inputs (missing, unreadable or corrupt reference, corrupt photos in a
# batch), existing outputs without --force, usage errors; 16-bit depth,
# greyscale, CMYK and alpha inputs, EXIF/XMP/ICC metadata. Test pictures are
# made here with the vips command (libvips-tools) and exiftool.
. "$(dirname "$0")/lib.sh"

T=$SUITE_TMP
A98=/usr/share/color/icc/ghostscript/a98.icc
CMYK=/usr/share/color/icc/ghostscript/default_cmyk.icc

have() { command -v "$1" >/dev/null 2>&1; }
if ! have vips || ! have exiftool || ! have jq; then
  skip "generated pictures" "needs the vips command (libvips-tools), exiftool and jq"
  finish
  exit 0
fi

# band_means IMAGE — the mean of each of the first three bands, rounded.
band_means() {
  local b
  for b in 0 1 2; do
    vips extract_band "$1" "$T/band.v" $b
    printf '%s ' "$(vips avg "$T/band.v" | awk '{printf "%d", $1 + 0.5}')"
  done
  echo
}
# near "A B C" "X Y Z" TOL — every component within TOL.
near() {
  local a=($1) b=($2) i
  for i in "${!b[@]}"; do
    local d=$((a[i] - b[i])); d=${d#-}
    [ "$d" -le "$3" ] || return 1
  done
}
far() { ! near "$1" "$2" "$3"; }
# within X Y TOL — |X - Y| <= TOL (decimals).
within() { awk -v x="$1" -v y="$2" -v t="$3" 'BEGIN { d = x - y; if (d < 0) d = -d; exit !(d <= t) }'; }
json_ev() { jq -r --arg f "$2" '.results[] | select(.input == $f) | .exposure.ev' "$1"; }
files_in() { (cd "$1" && ls -A | tr '\n' ' ' | sed 's/ $//'); }
unchanged() { [ "$(md5sum <"$1")" = "$2" ]; }
changed() { ! unchanged "$@"; }

# ---- pictures: a varied scene, and the same scene with a cast ------------
# Three smooth gradients as R, G, B, plus noise so the JPEG looks like a
# photo; the cast is applied in linear light (-1 EV, warm white balance).
vips xyz "$T/xy.v" 480 320
vips extract_band "$T/xy.v" "$T/x.v" 0
vips extract_band "$T/xy.v" "$T/y.v" 1
vips linear "$T/x.v" "$T/r.v" 0.35 40
vips linear "$T/y.v" "$T/g.v" 0.5 50
vips add "$T/x.v" "$T/y.v" "$T/xpy.v"
vips linear "$T/xpy.v" "$T/b.v" 0.2 45
vips bandjoin "$T/r.v $T/g.v $T/b.v" "$T/rgb.v"
vips gaussnoise "$T/n.v" 480 320 --sigma 3 --mean 0
vips add "$T/rgb.v" "$T/n.v" "$T/noisy.v"
vips cast "$T/noisy.v" "$T/u8.v" uchar
vips copy "$T/u8.v" "$T/scene.v" --interpretation srgb
vips copy "$T/scene.v" "$T/ref.jpg[Q=95]"
vips colourspace "$T/scene.v" "$T/lin.v" scrgb
vips linear "$T/lin.v" "$T/castlin.v" "0.6 0.5 0.33" "0 0 0"
vips colourspace "$T/castlin.v" "$T/cast.v" srgb
vips copy "$T/cast.v" "$T/cast.jpg[Q=95]"
vips linear "$T/lin.v" "$T/darklin.v" 0.5 0
vips colourspace "$T/darklin.v" "$T/dark.v" srgb
vips copy "$T/dark.v" "$T/dark.jpg[Q=95]"
ref_means=$(band_means "$T/ref.jpg")

# ---- matching back to the reference ----------------------------------------
mkdir -p "$T/out"
cast_sum=$(md5sum <"$T/cast.jpg")
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" "$T/dark.jpg" -o "$T/out" --json
expect "match: exit 0" [ "$rc" -eq 0 ]
expect "match: no sanitizer report" no_sanitizer_report
expect "match: one record per photo" [ "$(jq '.results | length' "$out")" -eq 2 ]
expect "match: the darkened photo (-1 EV) gets +1 EV (within 0.15)" within "$(json_ev "$out" "$T/dark.jpg")" 1 0.15
expect "match: the cast photo is brightened" within "$(json_ev "$out" "$T/cast.jpg")" 1.3 0.7
expect "match: the cast photo's colour temperature is measured below the reference's" \
  [ "$(jq '.results[0].white_balance.cct_before < .results[0].white_balance.cct_target' "$out")" = true ]
expect "match: the cast photo was far from the reference" far "$(band_means "$T/cast.jpg")" "$ref_means" 30
expect "match: the corrected cast photo is within 6 levels of the reference per channel" \
  near "$(band_means "$T/out/cast.jpg")" "$ref_means" 6
expect "match: the corrected dark photo is within 4 levels of the reference per channel" \
  near "$(band_means "$T/out/dark.jpg")" "$ref_means" 4
expect "match: the input is left unchanged" unchanged "$T/cast.jpg" "$cast_sum"
provenance_beside() { [ -s "$T/out/cast.jpg.postkit.json" ] && [ -s "$T/out/dark.jpg.postkit.json" ]; }
expect "match: provenance record beside each output" provenance_beside
sheet_shows_all() {
  grep -q 'cast.jpg' "$T/out/contact-sheet.html" && grep -q 'dark.jpg' "$T/out/contact-sheet.html" &&
    grep -q 'ref.jpg' "$T/out/contact-sheet.html"
}
expect "match: the contact sheet shows both photos and the reference" sheet_shows_all
expect "match: nothing else in the output folder" [ "$(files_in "$T/out")" = \
  "cast.jpg cast.jpg.postkit.json contact-sheet.html contact-sheet.html.postkit.json dark.jpg dark.jpg.postkit.json" ]

mkdir -p "$T/half"
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/half" --strength 0 --no-contact-sheet --json
expect "strength 0: exit 0" [ "$rc" -eq 0 ]
expect "strength 0: the photo is left as it was (within JPEG re-encoding)" \
  near "$(band_means "$T/half/cast.jpg")" "$(band_means "$T/cast.jpg")" 2
expect "strength 0: no contact sheet when asked for none" [ ! -e "$T/half/contact-sheet.html" ]

# ---- photo auto --------------------------------------------------------------
mkdir -p "$T/auto"
run_pk photo auto "$T/dark.jpg" -o "$T/auto" --json
expect "auto: exit 0" [ "$rc" -eq 0 ]
expect "auto: the darkened photo is brightened" [ "$(jq '.results[0].exposure.ev > 0.3' "$out")" = true ]
expect "auto: no sanitizer report" no_sanitizer_report

# ---- existing outputs without --force ------------------------------------------
out_sum=$(md5sum <"$T/out/cast.jpg")
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/out"
expect "existing contact sheet: exit 4" [ "$rc" -eq 4 ]
expect "existing contact sheet: one line naming it" one_line_naming "contact-sheet.html"
expect "existing contact sheet: the photo's output is left alone" unchanged "$T/out/cast.jpg" "$out_sum"
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/out" --no-contact-sheet
expect "existing photo output: exit 4" [ "$rc" -eq 4 ]
names_and_force() { one_line_naming "$1" && grep -q -- '--force' "$err"; }
expect "existing photo output: one line naming it, suggesting --force" names_and_force "$T/out/cast.jpg"
expect "existing photo output: left unchanged" unchanged "$T/out/cast.jpg" "$out_sum"
expect "existing photo output: no temporary file left" [ "$(files_in "$T/out")" = \
  "cast.jpg cast.jpg.postkit.json contact-sheet.html contact-sheet.html.postkit.json dark.jpg dark.jpg.postkit.json" ]
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/out" --mode exposure --force
expect "--force: exit 0" [ "$rc" -eq 0 ]
expect "--force: the output is replaced" changed "$T/out/cast.jpg" "$out_sum"

# ---- a reference that cannot be read -------------------------------------------
mkdir -p "$T/noref"
run_pk photo match --ref "$T/missing.jpg" "$T/cast.jpg" -o "$T/noref"
expect "missing reference: exit 3" [ "$rc" -eq 3 ]
expect "missing reference: one line naming it" one_line_naming "$T/missing.jpg"
expect "missing reference: nothing written" [ -z "$(files_in "$T/noref")" ]

head -c 3000 "$T/ref.jpg" >"$T/truncated-ref.jpg"
run_pk photo match --ref "$T/truncated-ref.jpg" "$T/cast.jpg" -o "$T/noref"
expect "truncated reference: exit 3" [ "$rc" -eq 3 ]
expect "truncated reference: one line naming it" one_line_naming "$T/truncated-ref.jpg"
expect "truncated reference: no sanitizer report" no_sanitizer_report
expect "truncated reference: nothing written" [ -z "$(files_in "$T/noref")" ]

printf 'this is not a picture\n' >"$T/text-ref.jpg"
run_pk photo match --ref "$T/text-ref.jpg" "$T/cast.jpg" -o "$T/noref"
expect "reference that is not an image: exit 3" [ "$rc" -eq 3 ]
expect "reference that is not an image: one line naming it" one_line_naming "$T/text-ref.jpg"
expect "reference that is not an image: nothing written" [ -z "$(files_in "$T/noref")" ]

# Permissions do not bind root: the unreadable case runs as nobody.
if have setpriv && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
  pdir=$(mktemp -d /tmp/pk-photo-XXXXXX)
  cp "$T/ref.jpg" "$T/cast.jpg" "$pdir/" && mkdir "$pdir/out"
  chmod 000 "$pdir/ref.jpg" && chmod 755 "$pdir" && chmod 777 "$pdir/out" && chmod 644 "$pdir/cast.jpg"
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$POSTKIT" photo match --ref "$pdir/ref.jpg" "$pdir/cast.jpg" -o "$pdir/out" >"$out" 2>"$err"
  rc=$?
  expect "unreadable reference (mode 000, as nobody): exit 3" [ "$rc" -eq 3 ]
  expect "unreadable reference: one line naming it" one_line_naming "$pdir/ref.jpg"
  expect "unreadable reference: the cause is given" grep -qi 'permission denied' "$err"
  expect "unreadable reference: nothing written" [ -z "$(files_in "$pdir/out")" ]
  rm -rf "$pdir"
else
  skip "unreadable reference" "cannot drop privileges with setpriv to make a file unreadable"
fi

# ---- corrupt photos in a batch ---------------------------------------------------
mkdir -p "$T/batch"
head -c 4000 "$T/cast.jpg" >"$T/truncated.jpg"
printf 'not a jpeg at all' >"$T/garbage.jpg"
: >"$T/empty.jpg"
run_pk photo match --ref "$T/ref.jpg" "$T/truncated.jpg" "$T/cast.jpg" "$T/garbage.jpg" "$T/empty.jpg" \
  -o "$T/batch" --json
expect "corrupt photos: exit 3" [ "$rc" -eq 3 ]
expect "corrupt photos: no sanitizer report" no_sanitizer_report
expect "corrupt photos: one error line per bad file" [ "$(wc -l <"$err")" -eq 3 ]
expect "corrupt photos: the truncated JPEG is named as corrupt" grep -q "$T/truncated.jpg: .*corrupt" "$err"
expect "corrupt photos: the garbage file is named" grep -q "$T/garbage.jpg: " "$err"
expect "corrupt photos: the empty file is named" grep -q "$T/empty.jpg: " "$err"
expect "corrupt photos: errors are in the JSON records, with status 3" \
  [ "$(jq '[.results[] | select(.error.status == 3)] | length' "$out")" -eq 3 ]
expect "corrupt photos: the good photo is still corrected" [ -s "$T/batch/cast.jpg" ]
expect "corrupt photos: no output for the bad ones, no temporary file" [ "$(files_in "$T/batch")" = \
  "cast.jpg cast.jpg.postkit.json contact-sheet.html contact-sheet.html.postkit.json" ]

# ---- usage errors ------------------------------------------------------------------
run_pk photo match "$T/cast.jpg" -o "$T/batch" --force
expect "no --ref: exit 2" [ "$rc" -eq 2 ]
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/batch" --force --strength 1.5
expect "--strength 1.5: exit 2" [ "$rc" -eq 2 ]
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/batch" --force --mode hue
expect "--mode hue: exit 2" [ "$rc" -eq 2 ]
run_pk photo match --ref "$T/ref.jpg" "$T/cast.jpg" -o "$T/nowhere"
expect "missing output folder: exit 4" [ "$rc" -eq 4 ]
expect "missing output folder: one line naming it" one_line_naming "$T/nowhere"

# ---- depth, channels and metadata ------------------------------------------------
mkdir -p "$T/kinds"
# 16-bit: a smooth ramp with a cast, as 16-bit TIFF; the output must keep
# far more than 256 levels in a channel (no 8-bit step inside).
vips linear "$T/x.v" "$T/ramp.v" 100 2000
vips bandjoin "$T/ramp.v $T/ramp.v $T/ramp.v" "$T/ramp3.v"
vips linear "$T/ramp3.v" "$T/ramp16.v" "1 0.9 0.7" "0 0 0"
vips cast "$T/ramp16.v" "$T/ramp16u.v" ushort
vips copy "$T/ramp16u.v" "$T/ramp16.tif" --interpretation rgb16
levels() {
  vips extract_band "$1" "$T/lv.v" 1
  vips hist_find "$T/lv.v" "$T/hist.v"
  vips relational_const "$T/hist.v" "$T/nz.v" moreeq 1
  vips avg "$T/nz.v" | awk -v w="$(vipsheader -f width "$T/hist.v")" '{printf "%d", $1 / 255 * w + 0.5}'
}
# Greyscale, CMYK (through its profile), alpha, EXIF orientation + XMP.
vips colourspace "$T/cast.jpg" "$T/grey.jpg" b-w
if [ -r "$CMYK" ]; then vips icc_transform "$T/cast.jpg" "$T/cmyk.jpg" "$CMYK"; fi
vips bandjoin_const "$T/cast.jpg" "$T/alpha.png" 180
cp "$T/cast.jpg" "$T/rotated.jpg"
exiftool -q -overwrite_original -n -Orientation=6 -Make=TestCam -XMP-dc:Title=wedding "$T/rotated.jpg"
kinds=("$T/ramp16.tif" "$T/grey.jpg" "$T/alpha.png" "$T/rotated.jpg")
[ -r "$CMYK" ] && kinds+=("$T/cmyk.jpg")
run_pk photo match --ref "$T/ref.jpg" "${kinds[@]}" -o "$T/kinds" --mode wb --json
expect "kinds: exit 0" [ "$rc" -eq 0 ]
expect "kinds: no sanitizer report" no_sanitizer_report
expect "16-bit TIFF: written as 16-bit TIFF" grep -q USHORT <(vipsheader -f format "$T/kinds/ramp16.tif")
expect "16-bit TIFF: the input's ramp has > 256 levels" [ "$(levels "$T/ramp16.tif")" -gt 256 ]
expect "16-bit TIFF: the output keeps > 256 levels (no 8-bit step)" [ "$(levels "$T/kinds/ramp16.tif")" -gt 256 ]
expect "16-bit TIFF: the white balance changed the picture" \
  [ "$(jq --arg f "$T/ramp16.tif" '.results[] | select(.input == $f) | .white_balance.applied' "$out")" = true ]
expect "greyscale: stays one band" [ "$(vipsheader -f bands "$T/kinds/grey.jpg")" = 1 ]
expect "alpha: the alpha channel is kept" [ "$(vipsheader -f bands "$T/kinds/alpha.tif")" = 4 ]
vips extract_band "$T/kinds/alpha.tif" "$T/a.v" 3
expect "alpha: its values are kept, on the full 16-bit scale" [ "$(vips avg "$T/a.v" | awk '{printf "%d", $1}')" = $((180 * 257)) ]
if [ -r "$CMYK" ]; then
  expect "CMYK JPEG: written as 3-band sRGB" [ "$(vipsheader -f bands "$T/kinds/cmyk.jpg")" = 3 ]
else
  skip "CMYK JPEG" "no CMYK profile at $CMYK"
fi
expect "EXIF orientation survives" [ "$(exiftool -n -s3 -Orientation "$T/kinds/rotated.jpg")" = 6 ]
expect "EXIF capture data survives" [ "$(exiftool -s3 -Make "$T/kinds/rotated.jpg")" = TestCam ]
expect "XMP survives" [ "$(exiftool -s3 -XMP-dc:Title "$T/kinds/rotated.jpg")" = wedding ]
profile_is() { exiftool -s3 -ProfileDescription "$1" | grep -qi "$2"; }
no_profile() { [ -z "$(exiftool -s3 -ProfileDescription "$1")" ]; }
expect "an untagged (sRGB) input stays untagged" no_profile "$T/kinds/rotated.jpg"
if [ -r "$CMYK" ]; then
  expect "CMYK JPEG: written with an sRGB profile" profile_is "$T/kinds/cmyk.jpg" srgb
fi

if [ -r "$A98" ]; then
  vips icc_transform "$T/cast.v" "$T/adobe.tif" "$A98" --input-profile srgb --depth 16
  run_pk photo match --ref "$T/ref.jpg" "$T/adobe.tif" -o "$T/kinds" --keep-profile --no-contact-sheet --force
  expect "--keep-profile: exit 0" [ "$rc" -eq 0 ]
  expect "--keep-profile: the Adobe RGB profile is embedded in the output" \
    profile_is "$T/kinds/adobe.tif" 'adobe\|a98'
  expect "--keep-profile: the colours still match the reference" \
    near "$(vips icc_import "$T/kinds/adobe.tif" "$T/imp.v" --embedded && vips icc_export "$T/imp.v" "$T/exp.v" \
      --output-profile srgb && band_means "$T/exp.v")" "$ref_means" 8
  # An 8-bit Adobe RGB JPEG: its profile's curves and matrix are applied in
  # the correction kernel; the result is sRGB, tagged so, and the same as
  # converting it to sRGB first.
  vips icc_transform "$T/cast.v" "$T/adobe8.jpg[Q=95]" "$A98" --input-profile srgb
  vips icc_transform "$T/adobe8.jpg" "$T/srgb-first.jpg[Q=95]" srgb --embedded
  run_pk photo match --ref "$T/ref.jpg" "$T/adobe8.jpg" "$T/srgb-first.jpg" -o "$T/kinds" --no-contact-sheet --force
  expect "Adobe RGB JPEG: exit 0" [ "$rc" -eq 0 ]
  expect "Adobe RGB JPEG: written with an sRGB profile" profile_is "$T/kinds/adobe8.jpg" srgb
  expect "Adobe RGB JPEG: the same colours as when converted to sRGB first" \
    near "$(band_means "$T/kinds/adobe8.jpg")" "$(band_means "$T/kinds/srgb-first.jpg")" 2
else
  skip "--keep-profile" "no Adobe RGB profile at $A98"
fi

finish
