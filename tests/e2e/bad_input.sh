#!/usr/bin/env bash
# tests/e2e/bad_input.sh — every kind of bad input gets the documented exit
# code (include/postkit/postkit.h: 2 usage, 3 input), exactly one line on
# stderr naming the file and a recognisable cause, no sanitizer report, and
# with --json a valid JSON document on stdout holding the error record.
# Media is generated here with ffmpeg; nothing is read from the corpora.
. "$(dirname "$0")/lib.sh"
export LC_ALL=C # file names with invalid UTF-8 bytes are compared byte by byte

d="$SUITE_TMP/files"
mkdir -p "$d"

# ---- helpers ---------------------------------------------------------------

# stderr is one line that names FILE and matches the cause (extended regex).
one_line_cause() {
  [ "$(wc -l <"$err")" -eq 1 ] && grep -qF -- "$1" "$err" && grep -qiE -- "$2" "$err"
}

# The --json document is valid, its status is STATUS and it holds an error
# record for FILE with that status.
json_error_for() {
  jq -e --arg p "$1" --argjson s "$2" \
    '.status == $s and any(.results[]; .path == $p and .error.status == $s and (.error.message | length) > 0)' \
    "$out" >/dev/null 2>&1
}

# The --json document is valid and has status STATUS and one error record
# (for usage errors, which concern no file).
json_usage_error() {
  jq -e --argjson s "$1" '.status == $s and (.results | length) == 1 and .results[0].error.status == $s' \
    "$out" >/dev/null 2>&1
}

# bad_file OP LABEL STATUS CAUSE FILE — run `postkit OP FILE` and `postkit OP
# --json FILE`; both must fail with STATUS, naming FILE and CAUSE.
bad_file() {
  local op=$1 label=$2 status=$3 cause=$4 file=$5
  run_pk "$op" "$file"
  expect "$op $label: exit $status" [ "$rc" -eq "$status" ]
  expect "$op $label: one stderr line naming the file and the cause" one_line_cause "$file" "$cause"
  expect "$op $label: no sanitizer report" no_sanitizer_report
  run_pk "$op" --json "$file"
  expect "$op $label --json: exit $status" [ "$rc" -eq "$status" ]
  expect "$op $label --json: valid JSON with the error record" json_error_for "$file" "$status"
  expect "$op $label --json: still one stderr line" one_line_cause "$file" "$cause"
  expect "$op $label --json: no sanitizer report" no_sanitizer_report
}

# usage LABEL CAUSE ARGS... — `postkit ARGS` is a usage error (exit 2).
usage() {
  local label=$1 cause=$2
  shift 2
  run_pk "$@"
  expect "$label: exit 2" [ "$rc" -eq 2 ]
  expect "$label: one stderr line with the cause" one_line_cause "postkit: " "$cause"
  expect "$label: nothing on stdout" [ ! -s "$out" ]
  expect "$label: no sanitizer report" no_sanitizer_report
}

# ---- inputs that do not exist or are not files --------------------------------

bad_file probe "missing path" 3 "no such file" "$d/does-not-exist.mp4"
bad_file provenance "missing path" 3 "no such file" "$d/does-not-exist.mp4"
mkdir -p "$d/a folder"
bad_file probe "directory" 3 "is a directory" "$d/a folder"
bad_file provenance "directory" 3 "is a directory" "$d/a folder"
: >"$d/empty.mp4"
bad_file probe "zero-byte file" 3 "empty" "$d/empty.mp4"
bad_file provenance "file without a record" 3 "no provenance record" "$d/empty.mp4"
printf 'This is a shopping list, not a film.\nmilk\neggs\n' >"$d/notes.mp4"
bad_file probe "text file named .mp4" 3 "not a media file" "$d/notes.mp4"
printf 'not json at all\n' >"$d/fake.wav.postkit.json"
printf 'RIFF' >"$d/fake.wav"
bad_file provenance "corrupt provenance record" 3 "not a postkit provenance record" "$d/fake.wav"

# ---- damaged media ---------------------------------------------------------------

if command -v ffmpeg >/dev/null; then
  gen() { ffmpeg -nostdin -v error -y "$@" </dev/null; }
  # cut FILE BYTES OUT — the first BYTES of FILE.
  cut_to() { head -c "$2" "$1" >"$3"; }
  size() { stat -c %s "$1"; }

  gen -f lavfi -i testsrc2=size=640x480 -frames:v 1 -q:v 3 "$d/whole.jpg"
  cut_to "$d/whole.jpg" $(($(size "$d/whole.jpg") / 2)) "$d/half.jpg"
  bad_file probe "JPEG truncated at half its size" 3 "truncated|premature end" "$d/half.jpg"

  # moov at the end (the default): the cut loses the index.
  gen -f lavfi -i testsrc2=size=320x240:rate=25:duration=3 -f lavfi -i sine=duration=3 \
    -c:v libx264 -preset ultrafast -c:a aac -shortest "$d/moov-last.mp4"
  cut_to "$d/moov-last.mp4" $(($(size "$d/moov-last.mp4") * 8 / 10)) "$d/moov-cut.mp4"
  bad_file probe "MP4 with its moov atom cut off" 3 "moov atom not found|truncated" "$d/moov-cut.mp4"

  # faststart (moov first): the index survives and points past the end.
  gen -i "$d/moov-last.mp4" -c copy -movflags +faststart "$d/faststart.mp4"
  cut_to "$d/faststart.mp4" $(($(size "$d/faststart.mp4") / 2)) "$d/faststart-cut.mp4"
  bad_file probe "faststart MP4 cut in the mdat" 3 "truncated" "$d/faststart-cut.mp4"

  gen -f lavfi -i sine=frequency=440:duration=2 -c:a pcm_s16le "$d/tone.wav"
  cut_to "$d/tone.wav" $(($(size "$d/tone.wav") * 6 / 10)) "$d/short.wav"
  bad_file probe "WAV whose header claims more data than exists" 3 "truncated.*WAV header declares" \
    "$d/short.wav"

  # ---- permissions: root reads everything, so drop to nobody ------------------
  nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  mkdir -p "$d/locked"
  chmod 755 "$d/locked"
  cp "$d/tone.wav" "$d/locked/secret.wav"
  printf '{"postkit_provenance": 1}\n' >"$d/locked/secret.wav.postkit.json"
  chmod 000 "$d/locked/secret.wav" "$d/locked/secret.wav.postkit.json"
  if ! command -v setpriv >/dev/null; then
    skip "unreadable file" "setpriv is not installed (util-linux)"
  elif ! "${nobody[@]}" test -x "$POSTKIT" || ! "${nobody[@]}" test -x "$d/locked"; then
    skip "unreadable file" "uid 65534 cannot reach $POSTKIT or $d/locked (a parent folder is closed)"
  elif "${nobody[@]}" test -r "$d/locked/secret.wav"; then
    skip "unreadable file" "mode 000 does not stop uid 65534 here (file system ignores modes?)"
  else
    for op in probe provenance; do
      for json in "" --json; do
        "${nobody[@]}" "$POSTKIT" "$op" $json "$d/locked/secret.wav" >"$out" 2>"$err"
        rc=$?
        expect "$op $json unreadable file (mode 000, uid 65534): exit 3" [ "$rc" -eq 3 ]
        expect "$op $json unreadable file (or record): one stderr line naming it, 'Permission denied'" \
          one_line_cause "$d/locked/secret.wav" "permission denied"
        expect "$op $json unreadable file: no sanitizer report" no_sanitizer_report
        [ -n "$json" ] && expect "$op --json unreadable file: JSON error record" \
          json_error_for "$d/locked/secret.wav" 3
      done
    done
  fi

  # ---- names: spaces, quotes, non-ASCII, invalid UTF-8 ------------------------
  odd="$d/take 1 \"final\" 'v2' – café ünïcødé 日本.wav"
  cp "$d/tone.wav" "$odd"
  run_pk probe "$odd"
  expect "probe of a name with spaces, quotes and non-ASCII: exit 0" [ "$rc" -eq 0 ]
  expect "probe of that name: the name is printed as is" grep -qF -- "$odd" "$out"
  expect "probe of that name: stderr is empty" [ ! -s "$err" ]
  run_pk probe --json "$odd"
  same_path() { jq -e --arg p "$odd" '.status == 0 and .results[0].path == $p' "$out" >/dev/null 2>&1; }
  expect "probe --json of that name: JSON path equals the name" same_path

  bad=$(printf '%s/latin1-\xe9t\xe9-\xff.wav' "$d")
  cp "$d/tone.wav" "$bad"
  run_pk probe --json "$bad"
  expect "probe --json of a name with invalid UTF-8: exit 0" [ "$rc" -eq 0 ]
  valid_json() { jq -e '.results[0].type == "audio"' "$out" >/dev/null 2>&1; }
  expect "probe --json of that name: valid JSON" valid_json
  replaced() { jq -e '.results[0].path | endswith("latin1-\ufffdt\ufffd-\ufffd.wav")' "$out" >/dev/null 2>&1; }
  expect "probe --json of that name: each bad byte shown as U+FFFD" replaced
  expect "probe --json of that name: no sanitizer report" no_sanitizer_report
  badtext=$(printf '%s/notes-\xff.mp4' "$d")
  cp "$d/notes.mp4" "$badtext"
  run_pk probe --json "$badtext"
  expect "probe --json of a bad file with an invalid UTF-8 name: exit 3" [ "$rc" -eq 3 ]
  error_json() { jq -e '.status == 3 and (.results[0].error.message | contains("notes-\ufffd.mp4"))' "$out" >/dev/null 2>&1; }
  expect "probe --json of that file: valid JSON with the error record" error_json
  expect "probe --json of that file: one stderr line naming it" one_line_cause "$badtext" "not a media file"

  # ---- mixed valid and invalid inputs -------------------------------------
  run_pk probe --json "$d/tone.wav" "$d/does-not-exist.mp4" "$d/half.jpg" "$d/whole.jpg"
  expect "mixed inputs: exit 3" [ "$rc" -eq 3 ]
  mixed() {
    jq -e --arg a "$d/tone.wav" --arg b "$d/does-not-exist.mp4" --arg c "$d/half.jpg" --arg e "$d/whole.jpg" '
      [.results[] | {path, ok: (.error == null)}] ==
      [{path: $a, ok: true}, {path: $b, ok: false}, {path: $c, ok: false}, {path: $e, ok: true}]
      and .status == 3' "$out" >/dev/null 2>&1
  }
  expect "mixed inputs: valid files reported, bad ones as errors, in order" mixed
  expect "mixed inputs: one stderr line per bad file" [ "$(wc -l <"$err")" -eq 2 ]
  expect "mixed inputs: no sanitizer report" no_sanitizer_report
  run_pk probe "$d/tone.wav" "$d/empty.mp4"
  expect "mixed inputs, human output: exit 3, the valid file still shown" \
    eval '[ "$rc" -eq 3 ] && grep -qF -- "$d/tone.wav" "$out"'
else
  skip "damaged media, permissions, file names" "ffmpeg is not installed (run scripts/setup)"
fi

# ---- usage errors ---------------------------------------------------------------

usage "unknown option" "unknown option '--frobnicate'" probe --frobnicate "$d/empty.mp4"
usage "unknown short option" "unknown option '-Z'" probe -Z "$d/empty.mp4"
usage "out-of-range value" "--threads: 5000 is out of range" probe --threads 5000 "$d/empty.mp4"
usage "not a number" "--threads: 'many' is not a number" probe --threads many "$d/empty.mp4"
usage "option without its value" "--threads needs a value" probe "$d/empty.mp4" --threads
usage "missing operation" "no operation given"
usage "option instead of an operation" "no operation given before '-q'" -q "$d/empty.mp4"
usage "unknown operation" "unknown operation 'prob'" prob "$d/empty.mp4"
usage "operation without its file" "'probe' needs a FILE" probe
usage "provenance without its file" "'provenance' needs a FILE" provenance
usage "--force on an operation that writes nothing" "unknown option '--force'" probe --force "$d/empty.mp4"

run_pk probe --json --threads 5000 "$d/empty.mp4"
expect "usage error with --json: exit 2" [ "$rc" -eq 2 ]
expect "usage error with --json: JSON document with the error record" json_usage_error 2
expect "usage error with --json: one stderr line" one_line_cause "postkit: " "out of range"
run_pk probe --json
expect "missing file with --json: JSON document with the error record" json_usage_error 2
run_pk --json "$d/empty.mp4"
expect "--json instead of an operation: exit 2, JSON document with the error record" \
  eval '[ "$rc" -eq 2 ] && json_usage_error 2'

finish
