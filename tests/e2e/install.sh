# End-to-end: where the ONNX Runtime library comes from, before and after
# `meson install`. libpostkit loads it with dlopen when a model is first
# opened (src/ml/ort_library.c): a command that opens no model must not load
# it, a missing or broken library is one line naming the file (exit 5), and
# an installed postkit finds its private copy beside libpostkit.
. "$(dirname "$0")/lib.sh"
# Which ONNX Runtime gets loaded is what this suite checks: not the one
# tests/run preloads in a sanitizer build.
LD_PRELOAD=$(printf '%s' "${LD_PRELOAD:-}" | tr ':' '\n' | grep -v libonnxruntime | paste -sd: -)
export LD_PRELOAD

build=$(cd "$(dirname "$POSTKIT")" && pwd)
# ld.so's own trace of every library it opens ("file=NAME [0];  ...").
loaded() { grep -q "file=$1 " "$err"; }

run_pk_traced() { LD_DEBUG=files "$POSTKIT" "$@" >"$out" 2>"$err"; rc=$?; }

run_pk_traced --version
expect "--version runs" [ "$rc" -eq 0 ]
expect "... without loading ONNX Runtime" bash -c "! grep -q 'file=[^ ]*libonnxruntime' '$err'"

# A model to open: blazeface-front from the store `make models` filled.
run_pk models --json
have_model=0
[ "$rc" -eq 0 ] && jq -e '.results[] | select(.id == "blazeface-front") | .status == "ok"' "$out" \
  >/dev/null && have_model=1

if [ "$have_model" -eq 1 ]; then
  export POSTKIT_ONNXRUNTIME=$SUITE_TMP/no-such-dir/libonnxruntime.so.1
  run_pk models verify blazeface-front
  expect "a missing ONNX Runtime library is an internal error (exit 5)" [ "$rc" -eq 5 ]
  expect "... in one line naming the file and the cause" \
    one_line_naming "$POSTKIT_ONNXRUNTIME: cannot load the ONNX Runtime library: cannot open shared object file"
  expect "... without a sanitizer report" no_sanitizer_report

  export POSTKIT_ONNXRUNTIME=$SUITE_TMP/not-a-library.so
  echo "this is text, not a shared library" >"$POSTKIT_ONNXRUNTIME"
  run_pk models verify blazeface-front
  expect "a file that is no library: exit 5" [ "$rc" -eq 5 ]
  expect "... in one line naming the file" \
    one_line_naming "$POSTKIT_ONNXRUNTIME: cannot load the ONNX Runtime library: "
  expect "... without a sanitizer report" no_sanitizer_report

  libm=$(ldconfig -p | awk '/libm\.so\.6 .*x86-64/ {print $NF; exit}')
  if [ -n "$libm" ]; then
    export POSTKIT_ONNXRUNTIME=$libm
    run_pk models verify blazeface-front
    expect "a library without OrtGetApiBase: exit 5" [ "$rc" -eq 5 ]
    expect "... in one line saying it is not ONNX Runtime" \
      one_line_naming "$libm: not an ONNX Runtime library (it has no OrtGetApiBase)"
  else
    skip "a library without OrtGetApiBase" "ldconfig lists no x86-64 libm.so.6"
    skip "... in one line saying it is not ONNX Runtime" "ldconfig lists no x86-64 libm.so.6"
  fi
  unset POSTKIT_ONNXRUNTIME

  run_pk_traced models verify blazeface-front
  expect "from the build folder a model opens (exit 0)" [ "$rc" -eq 0 ]
  bundled=$PK_ROOT/.deps/onnxruntime/lib/libonnxruntime.so
  if [ -f "$bundled" ]; then
    expect "... with the bundled ONNX Runtime the build used" loaded "$bundled"
  else
    expect "... with ONNX Runtime loaded (system copy)" grep -q "file=[^ ]*libonnxruntime" "$err"
  fi
else
  for c in "missing library" "file that is no library" "library without OrtGetApiBase" "build folder"; do
    skip "ONNX Runtime loading: $c" "blazeface-front is not installed (make models)"
  done
fi

# ---- meson install into a staging folder, run from there ----
dest=$SUITE_TMP/dest
if meson install -C "$build" --no-rebuild --destdir "$dest" >"$SUITE_TMP/install.log" 2>&1; then
  expect "meson install into a DESTDIR succeeds" true
  bin=$(find "$dest" -path '*/bin/postkit' -type f | head -1)
  lib=$(find "$dest" -name 'libpostkit.so.0' | head -1)
  libdir=$(dirname "${lib:-/nonexistent/x}")
  expect "the command and libpostkit are installed" test -x "$bin" -a -f "$lib"
  installed() { LD_LIBRARY_PATH=$libdir LD_DEBUG=files "$bin" "$@" >"$out" 2>"$err"; rc=$?; }
  installed --version
  expect "the installed postkit runs (--version)" grep -q '^postkit ' "$out"
  expect "... without its operations module" bash -c "! grep -q 'file=[^ ]*postkit-ops' '$err'"
  expect "the operations module is installed privately" [ -f "$libdir/postkit/postkit-ops.so" ]
  ffmpeg -v error -f lavfi -i "sine=duration=1" "$SUITE_TMP/tone.wav"
  installed probe "$SUITE_TMP/tone.wav"
  expect "the installed postkit probes a WAV (exit 0)" [ "$rc" -eq 0 ]
  expect "... with the installed operations module" loaded "$libdir/postkit/postkit-ops.so"
  if [ -f "$PK_ROOT/.deps/onnxruntime/lib/libonnxruntime.so" ]; then
    expect "the bundled ONNX Runtime is installed privately beside libpostkit" \
      [ -f "$libdir/postkit/libonnxruntime.so.1" ]
    if [ "$have_model" -eq 1 ]; then
      installed models verify blazeface-front
      expect "the installed postkit opens a model (exit 0)" [ "$rc" -eq 0 ]
      expect "... with its private ONNX Runtime" loaded "$libdir/postkit/libonnxruntime.so.1"
      expect "... and nothing from the source tree's .deps" bash -c "! grep -q 'file=$PK_ROOT/.deps' '$err'"
    else
      for c in "opens a model" "private copy" "nothing from .deps"; do
        skip "installed postkit: $c" "blazeface-front is not installed (make models)"
      done
    fi
  else
    skip "the bundled ONNX Runtime is installed privately" "built against the system's ONNX Runtime"
  fi
else
  expect "meson install into a DESTDIR succeeds" false
  sed -n '1,20p' "$SUITE_TMP/install.log" | sed 's/^/# /'
fi

finish
