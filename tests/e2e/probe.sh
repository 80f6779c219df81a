#!/usr/bin/env bash
# tests/e2e/probe.sh — `postkit probe --json` on every file of the shared
# corpora, checked against tools nobody on the project wrote:
#   audio/video   ffprobe: duration (±1 ms, ffprobe prints 6 decimals), number
#                 and types of streams, codec names, width/height, sample
#                 rate, channels
#   photos        vipsheader: width/height; exiftool: camera make and model
#   camera RAW    raw/MANIFEST.txt: camera, output resolution, bit depth
#   anything else (text, CSV, PDF, NumPy arrays, headerless PCM, fingerprint
#                 dumps) must be refused as input error, exit 3, with a message
#                 naming the file.
# Decision: postkit is not told which files are media; it must recognise
# non-media by content. The test sorts files by extension only to pick the
# reference tool, and everything it does not know as media is expected to be
# refused. A mismatch is a failing test: fix the code, not this file.
. "$(dirname "$0")/lib.sh"

for tool in ffmpeg ffprobe jq vipsheader exiftool; do
  if ! command -v "$tool" >/dev/null; then
    skip "probe against reference tools" "$tool is not installed (run scripts/setup)"
    finish; exit 0
  fi
done

# ---- generated photos: metadata written by exiftool, read back -------------------
# Each format keeps camera metadata its own way: JPEG in an APP1 segment, WebP
# and PNG as a bare TIFF structure, TIFF in its own directories.
g="$SUITE_TMP/generated"
mkdir -p "$g"
gen() { ffmpeg -nostdin -v error -y "$@" </dev/null; }
gen -f lavfi -i testsrc2=size=640x480 -frames:v 1 "$g/photo.jpg"
gen -f lavfi -i mandelbrot=size=320x200 -frames:v 1 "$g/photo.png"
gen -f lavfi -i smptehdbars=size=320x180 -frames:v 1 -pix_fmt rgb48le "$g/photo-16bit.tif"
gen -f lavfi -i testsrc2=size=300x200 -frames:v 1 "$g/photo.webp"
generated=("$g/photo.jpg" "$g/photo.png" "$g/photo-16bit.tif" "$g/photo.webp")
exiftool -q -overwrite_original -Make="Test Maker" -Model="TM-1 Mark II" \
  -DateTimeOriginal="2023:05:06 07:08:09" -GPSLatitude=12.3456789 -GPSLatitudeRef=S \
  -GPSLongitude=98.7654321 -GPSLongitudeRef=E "${generated[@]}"
run_pk probe --json "${generated[@]}"
expect "probe of generated photos exits 0" [ "$rc" -eq 0 ]
expect "probe of generated photos: no sanitizer report" no_sanitizer_report
exiftool -q -j -n -Make -Model -DateTimeOriginal -GPSLatitude -GPSLongitude "${generated[@]}" >"$g/exif.json"
for f in "${generated[@]}"; do
  problems=$(jq -r -n --arg f "$f" --slurpfile p "$out" --slurpfile e "$g/exif.json" '
    ($p[0].results[] | select(.path == $f)) as $r | ($e[0][] | select(.SourceFile == $f)) as $x
    | ($x.DateTimeOriginal | sub("^(?<d>....):(?<m>..):(?<day>..) "; "\(.d)-\(.m)-\(.day)T")) as $when
    | (if $r.image.camera.make != $x.Make then "make \($r.image.camera.make), exiftool \($x.Make)" else empty end),
      (if $r.image.camera.model != $x.Model then "model \($r.image.camera.model), exiftool \($x.Model)" else empty end),
      (if $r.image.captured != $when then "captured \($r.image.captured), exiftool \($when)" else empty end),
      # GPS comes from EXIF blobs; a TIFF keeps it in a directory postkit
      # does not read yet.
      (if ($f | endswith(".tif")) then empty
       elif $r.image.gps == null then "no gps, exiftool \($x.GPSLatitude), \($x.GPSLongitude)"
       elif (($r.image.gps.latitude - $x.GPSLatitude) | fabs) > 1e-6 or (($r.image.gps.longitude - $x.GPSLongitude) | fabs) > 1e-6
       then "gps \($r.image.gps.latitude), \($r.image.gps.longitude), exiftool \($x.GPSLatitude), \($x.GPSLongitude)"
       else empty end)' 2>&1)
  _n=$((_n + 1))
  if [ -z "$problems" ]; then
    echo "ok $_n - generated $(basename "$f"): camera, capture time and GPS as exiftool wrote them"
  else
    echo "not ok $_n - generated $(basename "$f"): camera, capture time and GPS as exiftool wrote them"
    printf '%s\n' "$problems" | sed 's/^/# /'
  fi
done

if ! have_corpus; then
  skip "probe against ffprobe/vipsheader/exiftool on the corpora" "no corpora at $PK_CORPORA"
  finish; exit 0
fi

# The reference tool for a file, by extension. `.raw` is left out of the
# camera RAW list: in the corpora it is headerless PCM, which no tool can
# identify.
kind_of() {
  local ext=${1##*.}
  ext=${ext,,}
  case "$ext" in
    wav|mp3|mp4|m4a|mov|avi|mkv|webm|flac|ogg|opus|aac|mxf|ts|mts) echo av ;;
    jpg|jpeg|png|webp|tif|tiff|gif|heic|heif|jxl|jp2) echo image ;;
    crw|cr2|cr3|kdc|nef|nrw|arw|dng|orf|rw2|raf|pef|srw|3fr|iiq|x3f) echo raw ;;
    *) echo other ;;
  esac
}

mapfile -d '' files < <(find "$PK_CORPORA" -type f -print0 | sort -z)
declare -A kind
av=() images=() raws=() others=()
for f in "${files[@]}"; do
  k=$(kind_of "$f")
  kind[$f]=$k
  case $k in
    av) av+=("$f") ;; image) images+=("$f") ;; raw) raws+=("$f") ;; *) others+=("$f") ;;
  esac
done
echo "# ${#files[@]} files: ${#av[@]} audio/video, ${#images[@]} photos, ${#raws[@]} RAW, ${#others[@]} other"

# One invocation for the whole corpus, as a user would run it.
run_pk probe --json "${files[@]}"
cp "$err" "$SUITE_TMP/probe.stderr"
expect "probe over the corpora exits 3 (it holds non-media files)" [ "$rc" -eq 3 ]
expect "no sanitizer report" no_sanitizer_report
json_doc() { jq -e '.results | length > 0' "$out" >/dev/null 2>&1; }
expect "stdout is one valid JSON document" json_doc
results="$SUITE_TMP/results.json"
jq -c '.results[]' "$out" >"$results"
expect "one record per file, in order" \
  [ "$(jq -r '.path' "$results" | tr '\n' '\0' | sha1sum)" = "$(printf '%s\0' "${files[@]}" | sha1sum)" ]
expect "one stderr line per refused file" \
  [ "$(wc -l <"$SUITE_TMP/probe.stderr")" -eq "$(jq -s '[.[] | select(.error)] | length' "$results")" ]

# check NAME PROBLEMS — passes when PROBLEMS is empty, else prints them.
check() {
  local name=$1 problems=$2
  _n=$((_n + 1))
  if [ -z "$problems" ]; then
    echo "ok $_n - $name"
  else
    echo "not ok $_n - $name"
    printf '%s\n' "$problems" | tr '\037' '\n' | sed 's/^/# /'
  fi
}

# The references, gathered into files so one jq program compares everything
# (a jq start costs tens of milliseconds; hundreds of them would dominate).
refs="$SUITE_TMP/refs.jsonl"
: >"$refs"
for f in "${av[@]}"; do
  ffprobe -v error -show_format -show_streams -of json "$f" 2>/dev/null \
    | jq -c --arg p "$f" '{path: $p, ffprobe: .}' >>"$refs" \
    || jq -n -c --arg p "$f" '{path: $p, ffprobe: null}' >>"$refs"
done
if [ ${#images[@]} -gt 0 ]; then
  vipsheader "${images[@]}" 2>/dev/null \
    | jq -R -c 'capture("^(?<path>.*): (?<w>[0-9]+)x(?<h>[0-9]+) ") | {path, vips: {width: (.w | tonumber), height: (.h | tonumber)}}' >>"$refs"
  exiftool -q -q -j -Make -Model "${images[@]}" 2>/dev/null \
    | jq -c '.[] | {path: .SourceFile, exif: {make: .Make, model: .Model}}' >>"$refs"
fi
manifest="$PK_CORPORA/raw/MANIFEST.txt"
for f in "${raws[@]}"; do
  name=$(basename "$f")
  block=$(awk -v n="$name" '$0 ~ "^[0-9]+\\) " n "$" {on=1; next} /^[0-9]+\) / {on=0} on' "$manifest" 2>/dev/null)
  camera=$(sed -n 's/^ *camera *: *\([^(]*\).*/\1/p' <<<"$block" | sed 's/ *$//')
  res=$(sed -n 's/^ *resolution *: *//p' <<<"$block")
  w=null h=null bits=null
  if [[ $res =~ output\ ([0-9]+)x([0-9]+) ]] || [[ $res =~ ([0-9]+)x([0-9]+) ]]; then
    w=${BASH_REMATCH[1]} h=${BASH_REMATCH[2]}
  fi
  [[ $res =~ ([0-9]+)-bit ]] && bits=${BASH_REMATCH[1]}
  jq -n -c --arg p "$f" --arg cam "$camera" --argjson w "$w" --argjson h "$h" --argjson bits "$bits" \
    '{path: $p, manifest: (if $cam == "" then null else {camera: $cam, width: $w, height: $h, bits: $bits} end)}' >>"$refs"
done
kinds="$SUITE_TMP/kinds.jsonl"
for f in "${files[@]}"; do printf '%s\0%s\0' "$f" "${kind[$f]}"; done \
  | jq -R -s -c 'split("\u0000") | . as $a | [range(0; length - 1; 2) | {path: $a[.], kind: $a[. + 1]}]' >"$kinds"
grep -F 'postkit: ' "$SUITE_TMP/probe.stderr" | sed 's/^postkit: //' | jq -R -c '{stderr: .}' >>"$refs"

read -r -d '' compare <<'JQ'
def num: if type == "string" then tonumber else . end;
def trim: if . == null then null else tostring | sub("^\\s+"; "") | sub("\\s+$"; "") | if . == "" then null else . end end;
def type_of: if . == "cover" then "video" else . end;
def refused: if .error then ["refused: \(.error.message)"] else [] end;

def av($p; $f):
  if $f == null then
    (if $p.error then [] else ["ffprobe cannot read it, postkit accepted it"] end)
  elif $p.error then $p | refused
  else [
    (if $f.format.duration then
       if $p.format.duration == null then "duration missing (ffprobe \($f.format.duration))"
       elif (($p.format.duration | num) - ($f.format.duration | num) | fabs) > 0.0011
       then "duration \($p.format.duration) s, ffprobe \($f.format.duration) s" else empty end
     elif $p.format.duration then "duration \($p.format.duration) s, ffprobe has none"
     else empty end),
    (if ($p.streams | length) != ($f.streams | length)
     then "\($p.streams | length) streams, ffprobe \($f.streams | length)" else empty end),
    (range(0; [($p.streams | length), ($f.streams | length)] | min) as $i
     | $p.streams[$i] as $a | $f.streams[$i] as $b
     | (if ($a.type | type_of) != $b.codec_type
        then "stream \($i): type \($a.type), ffprobe \($b.codec_type)" else empty end),
       (if $a.codec != $b.codec_name
        then "stream \($i): codec \($a.codec), ffprobe \($b.codec_name)" else empty end),
       (if $b.codec_type == "video" and ($a.width != $b.width or $a.height != $b.height)
        then "stream \($i): \($a.width)x\($a.height), ffprobe \($b.width)x\($b.height)" else empty end),
       (if $b.codec_type == "audio" and $a.sample_rate != ($b.sample_rate | num)
        then "stream \($i): \($a.sample_rate) Hz, ffprobe \($b.sample_rate)" else empty end),
       (if $b.codec_type == "audio" and $a.channels != $b.channels
        then "stream \($i): \($a.channels) channels, ffprobe \($b.channels)" else empty end))
  ] end;

def image($p; $v; $e):
  if $v == null then
    (if $p.error then [] else ["vipsheader cannot read it, postkit accepted it"] end)
  elif $p.error then $p | refused
  else [
    (if $p.image.width != $v.width or $p.image.height != $v.height
     then "\($p.image.width)x\($p.image.height), vipsheader \($v.width)x\($v.height)" else empty end),
    (if ($p.image.camera.make | trim) != ($e.make | trim)
     then "make \($p.image.camera.make | tojson), exiftool \($e.make | tojson)" else empty end),
    (if ($p.image.camera.model | trim) != ($e.model | trim)
     then "model \($p.image.camera.model | tojson), exiftool \($e.model | tojson)" else empty end)
  ] end;

def raw($p; $m):
  if $m == null then ["not described in raw/MANIFEST.txt"]
  elif $p.error then $p | refused
  else [
    ((($p.image.camera.make // "") + " " + ($p.image.camera.model // "")) as $c
     | if $m.camera == $c or ($m.camera | startswith($c + " ")) then empty
       else "camera \($c | tojson), MANIFEST \($m.camera | tojson)" end),
    (if $p.image.width != $m.width or $p.image.height != $m.height
     then "\($p.image.width)x\($p.image.height), MANIFEST \($m.width)x\($m.height)" else empty end),
    (if $p.image.bit_depth != $m.bits then "\($p.image.bit_depth)-bit, MANIFEST \($m.bits)-bit" else empty end)
  ] end;

# Not media: refused with status 3, the message naming the file, the same
# message on stderr.
def other($p; $stderr):
  if $p.error == null then ["accepted as \($p.type) (\($p.format.name // $p.image.format))"]
  else [
    (if $p.error.status != 3 then "status \($p.error.status), expected 3" else empty end),
    (if ($p.error.message | startswith($p.path + ": ") | not)
     then "message does not name the file: \($p.error.message)" else empty end),
    (if $stderr[$p.error.message] then empty else "stderr lacks 'postkit: \($p.error.message)'" end)
  ] end;

($refs | map(select(.path)) | group_by(.path) | map({key: .[0].path, value: add}) | from_entries) as $ref
| ($refs | map(select(.stderr) | {key: .stderr, value: true}) | from_entries) as $stderr
| ($results | map({key: .path, value: .}) | from_entries) as $rec
| $kinds[]
| .path as $path | .kind as $kind | ($rec[$path] // {error: {message: "no record"}}) as $p | ($ref[$path] // {}) as $r
| ($path | ltrimstr($root + "/")) as $short
| if $kind == "av" then [$short + ": same as ffprobe", av($p; $r.ffprobe)]
  elif $kind == "image" then [$short + ": same as vipsheader and exiftool", image($p; $r.vips; $r.exif // {})]
  elif $kind == "raw" then [$short + ": camera, resolution and bit depth as in raw/MANIFEST.txt", raw($p; $r.manifest)]
  else [$short + ": refused as not media", other($p; $stderr)] end
| "\(.[0])\t\(.[1] | join("\u001f"))"
JQ
jq -n -r --arg root "$PK_CORPORA" --slurpfile results "$results" --slurpfile refs "$refs" \
  --slurpfile k "$kinds" '$k[0] as $kinds | '"$compare" >"$SUITE_TMP/checks.tsv"
expect "every file was compared" [ "$(wc -l <"$SUITE_TMP/checks.tsv")" -eq "${#files[@]}" ]
while IFS=$'\t' read -r name problems; do
  check "$name" "$problems"
done <"$SUITE_TMP/checks.tsv"

finish
