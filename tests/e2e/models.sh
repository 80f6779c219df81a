# End-to-end: the model store from the command line — listing, missing and
# altered models, npm integrity, and URL downloads (resume, checksum) against
# a loopback HTTP server this test starts. Nothing here leaves the machine
# except `npm pack` of a pinned package, which npm's cache usually serves.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
jqt() { jq -e "$@" >/dev/null; }  # a jq test, quiet
# The store `make models` filled (the one the environment names).
real_store=${POSTKIT_MODELS:-}
if [ -z "$real_store" ]; then
  if [ "${XDG_DATA_HOME:-}" != "" ] && [ "${XDG_DATA_HOME#/}" != "$XDG_DATA_HOME" ]; then
    real_store=$XDG_DATA_HOME/postkit/models
  else
    real_store=$HOME/.local/share/postkit/models
  fi
fi
store=$SUITE_TMP/store
mkdir -p "$store"
export POSTKIT_MODELS=$store

# ---- listing and missing models ----
run_pk models --json
expect "models lists the whole manifest (9 models)" [ "$(jq '.results | length' "$out")" -eq 9 ]
expect "in an empty store every model is 'not installed'" \
  jqt '[.results[].status] | all(. == "not installed")' "$out"
expect "the manifest lists licences for every model" \
  jqt '[.results[].licence] | all(. == "MIT" or . == "Apache-2.0")' "$out"

run_pk models verify silero-vad
expect "verify of a model that is not installed exits 3" [ "$rc" -eq 3 ]
expect "the message is one line naming the file and the install command" \
  one_line_naming "postkit models install silero-vad"
expect "... and says it is not installed" grep -q "silero-vad/silero_vad.onnx: model 'silero-vad' is not installed" "$err"

run_pk models install no-such-model
expect "an unknown model ID is a usage error (exit 2)" [ "$rc" -eq 2 ]

# ---- altered model: refused, then repaired by `models install` ----
mkdir -p "$store/blazeface-front"
cp "$real_store/blazeface-front/face_detection_front_128x128.onnx" "$store/blazeface-front/"
run_pk models verify blazeface-front
expect "an intact copy verifies (exit 0)" [ "$rc" -eq 0 ]
f=$store/blazeface-front/face_detection_front_128x128.onnx
printf '\x01' | dd of="$f" bs=1 seek=100000 conv=notrunc status=none
run_pk models verify blazeface-front
expect "a model altered by one byte fails verification (exit 1)" [ "$rc" -eq 1 ]
expect "... with a message naming the file and how to reinstall" \
  grep -q "$f: model 'blazeface-front' is altered or corrupt.*postkit models install blazeface-front" "$err"
run_pk models --json
expect "models shows it as altered" \
  jqt '.results[] | select(.id == "blazeface-front") | .status == "altered"' "$out"
run_pk models install blazeface-front
expect "models install replaces the altered file (npm, integrity checked)" [ "$rc" -eq 0 ]
run_pk models verify blazeface-front
expect "... and it verifies again" [ "$rc" -eq 0 ]
expect "... with its install record" jqt '.sha256 == "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51"' \
  "$store/blazeface-front/installed.json"
run_pk models install blazeface-front
expect "installing again is a no-op that says so, silently on stderr" \
  bash -c "grep -q 'already installed' '$out' && [ ! -s '$err' ]"

# ---- npm integrity mismatch: refused, nothing installed ----
manifest=$SUITE_TMP/manifest.json
# Install blazeface-back by a copy of the manifest changed by a jq filter on
# its entry.
install_back_with() {
  jq ".models |= map(select(.id == \"blazeface-back\") | $1)" "$PK_ROOT/models/manifest.json" >"$manifest"
  POSTKIT_MANIFEST=$manifest run_pk models install blazeface-back
}
install_back_with '.source.integrity = "sha512-AAAA" + .source.integrity[11:]'
expect "a package whose integrity differs from the pinned one is refused (exit 3)" [ "$rc" -eq 3 ]
expect "... saying so" grep -q "integrity mismatch" "$err"
expect "... and nothing is installed" [ ! -e "$store/blazeface-back/face_detection_back_open.onnx" ]
expect "... and no scratch folder is left" bash -c "! ls -a '$store' | grep -q '^\.'[a-z]"

# ---- a fixed-shape ONNX model: the open-shape copy is derived and checked ----
install_back_with '.convert.source_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"'
expect "a package file other than the pinned source is refused (exit 3)" [ "$rc" -eq 3 ]
expect "... naming both SHA-256s" grep -q "face_detection_back_256x256_barracuda.onnx: model 'blazeface-back': the package's file has SHA-256 427cbbe0fc41448d.*the manifest pins 0000" "$err"
expect "... and nothing is installed" [ ! -e "$store/blazeface-back/face_detection_back_open.onnx" ]
run_pk models install blazeface-back
expect "blazeface-back installs as its open-shape copy (exit 0)" [ "$rc" -eq 0 ]
rec=$store/blazeface-back/installed.json
expect "... whose SHA-256 is the manifest's" \
  jqt --slurpfile m "$PK_ROOT/models/manifest.json" \
  '.sha256 == ($m[0].models[] | select(.id == "blazeface-back") | .sha256)' "$rec"
expect "... recording the package file it was derived from" \
  jqt '.derived_from.sha256 == "427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2" and .derived_from.file == "ONNX/face_detection_back_256x256_barracuda.onnx"' "$rec"
expect "... and its agreement with it, batch 1 and 2, within 1e-4" \
  jqt '.conversion_check.max_relative_error | length == 4 and all(.[]; . >= 0 and . <= 1e-4)' "$rec"
run_pk models verify blazeface-back
expect "... and it verifies" [ "$rc" -eq 0 ]

# ---- URL sources against a loopback server ----
srv=$SUITE_TMP/srv
mkdir -p "$srv"
head -c 3000000 /dev/urandom >"$srv/model.bin"
sha1=$(sha1sum "$srv/model.bin" | cut -d' ' -f1)
sha256=$(sha256sum "$srv/model.bin" | cut -d' ' -f1)
portfile=$SUITE_TMP/port
log=$SUITE_TMP/http.log
server_pid=

start_server() {
  rm -f "$portfile"
  $PY "$PK_ROOT/tests/e2e/http_server.py" "$srv" "$portfile" "$log" "$@" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
  port=$(cat "$portfile")
  # A manifest with URL models on this server: one right, one with a wrong
  # checksum, one missing file, one plain-http URL off this machine.
  jq -n --arg u "http://127.0.0.1:$port" --arg s1 "$sha1" '{models: [
    {id: "test-url", version: "1", licence: "MIT", purpose: "test", format: "bin", file: "model.bin",
     default: false, source: {kind: "url", url: ($u + "/model.bin"), checksum: {algorithm: "sha1", value: $s1}}},
    {id: "test-bad", version: "1", licence: "MIT", purpose: "test", format: "bin", file: "model.bin",
     default: false, source: {kind: "url", url: ($u + "/model.bin"),
                              checksum: {algorithm: "sha1", value: "0000000000000000000000000000000000000000"}}},
    {id: "test-404", version: "1", licence: "MIT", purpose: "test", format: "bin", file: "gone.bin",
     default: false, source: {kind: "url", url: ($u + "/gone.bin"), checksum: {algorithm: "sha1", value: $s1}}},
    {id: "test-plain", version: "1", licence: "MIT", purpose: "test", format: "bin", file: "x.bin",
     default: false, source: {kind: "url", url: "http://example.invalid/x.bin", checksum: {algorithm: "sha1", value: $s1}}}
  ]}' >"$manifest"
}
stop_server() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  server_pid=
}
trap stop_server EXIT

if [ ! -x $PY ]; then
  skip "URL downloads" "needs $PY for the loopback server"
else
  # 1. The server drops the connection halfway.
  start_server --truncate-after 1500000
  POSTKIT_MANIFEST=$manifest run_pk models install test-url
  expect "an interrupted download fails (exit 3)" [ "$rc" -eq 3 ]
  expect "... saying it can be resumed" grep -q "run again to resume" "$err"
  expect "... installs nothing" bash -c "[ ! -e '$store/test-url/model.bin' ] && [ ! -e '$store/test-url/installed.json' ]"
  expect "... and keeps the half it got" [ "$(stat -c %s "$store/test-url/.model.bin.part")" -eq 1500000 ]
  stop_server

  # 2. A working server: the download resumes where it stopped.
  : >"$log"
  start_server
  POSTKIT_MANIFEST=$manifest run_pk models install test-url
  expect "the download resumes and installs (exit 0)" [ "$rc" -eq 0 ]
  expect "... asking only for the missing bytes" grep -q "range=bytes=1500000- sent=1500000" "$log"
  expect "... in one request" [ "$(wc -l <"$log")" -eq 1 ]
  expect "... giving the publisher's file" [ "$(sha1sum <"$store/test-url/model.bin" | cut -d' ' -f1)" = "$sha1" ]
  expect "... recording its SHA-256 for load-time checks" jqt --arg s "$sha256" '.sha256 == $s' \
    "$store/test-url/installed.json"
  expect "... leaving no partial file" [ ! -e "$store/test-url/.model.bin.part" ]
  POSTKIT_MANIFEST=$manifest run_pk models verify test-url
  expect "the downloaded model verifies" [ "$rc" -eq 0 ]

  # 3. A file that is not what the publisher lists.
  POSTKIT_MANIFEST=$manifest run_pk models install test-bad
  expect "a checksum mismatch is refused (exit 3)" [ "$rc" -eq 3 ]
  expect "... saying so" grep -q "checksum mismatch: sha1 $sha1, expected 0000" "$err"
  expect "... installing nothing and keeping no partial file" \
    bash -c "[ -z \"\$(ls -A '$store/test-bad' 2>/dev/null)\" ]"

  # 4. Missing file, and plain http off this machine.
  POSTKIT_MANIFEST=$manifest run_pk models install test-404
  expect "a missing file on the server is an input error (exit 3)" [ "$rc" -eq 3 ]
  expect "... naming the HTTP status" grep -q "404" "$err"
  POSTKIT_MANIFEST=$manifest run_pk models install test-plain
  expect "plain http to another host is refused before connecting" \
    bash -c "[ $rc -eq 3 ] && grep -q 'only https URLs are fetched' '$err'"
  stop_server
fi

expect "no sanitizer report" no_sanitizer_report
finish
