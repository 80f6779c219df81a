# End-to-end: what a command loads at start-up. Libraries a command does not
# use are not loaded (ld.so's trace, LD_DEBUG=files, names every file it
# opens): --version, --help and search load neither the operations module
# (postkit-ops.so, src/cli/ops_module.c) nor FFmpeg or libvips; probing an
# audio file loads none of ImageMagick's format modules, and the results are
# unchanged. A missing or broken module is one line naming it (exit 5).
. "$(dirname "$0")/lib.sh"

run_pk_traced() { LD_DEBUG=files "$POSTKIT" "$@" >"$out" 2>"$err"; rc=$?; }
opened() { grep -q "file=[^ ]*$1" "$err"; }

T=$SUITE_TMP
export POSTKIT_CATALOG=$T/catalog.db XDG_CACHE_HOME=$T/cache
mkdir -p "$T/media"
ffmpeg -v error -f lavfi -i "sine=frequency=440:duration=1" "$T/media/tone.wav"
ffmpeg -v error -f lavfi -i "testsrc=size=64x48" -frames:v 1 "$T/media/chart.jpg"
run_pk index "$T/media"
expect "index of a WAV and a JPEG" [ "$rc" -eq 0 ]

# Libraries only the operations module needs.
heavy='file=[^ ]*(postkit-ops\.so|libavformat|libvips|libraw|libfftw3|libcurl|libpocketsphinx)'
for cmd in --version --help "search --help" "probe --help"; do
  # shellcheck disable=SC2086 # the words of the command line
  run_pk_traced $cmd
  expect "$cmd: exit 0" [ "$rc" -eq 0 ]
  expect "... without the operations module, FFmpeg or libvips" bash -c "! grep -qE '$heavy' '$err'"
done

run_pk_traced search tone
expect "search finds the WAV" grep -q "tone.wav" "$out"
expect "... without starting libvips (no vips-modules loaded)" bash -c "! grep -q 'file=[^ ]*vips-modules' '$err'"
expect "... without the operations module, FFmpeg or libvips" bash -c "! grep -qE '$heavy' '$err'"

run_pk_traced search --json tone
expect "search --json: the same hit" jq -e '.results[0].path | endswith("tone.wav")' "$out"

# The module is found from the command's folder and loaded when needed.
run_pk_traced probe "$T/media/tone.wav"
expect "probe (an operation of the module): exit 0" [ "$rc" -eq 0 ]
expect "... with the module loaded" opened "postkit-ops\.so"

# A broken installation: one line naming the module and the cause, exit 5;
# operations of the core and help still work.
export POSTKIT_OPS_MODULE=$T/no-such-dir/postkit-ops.so
run_pk probe "$T/media/tone.wav"
expect "a missing operations module: exit 5" [ "$rc" -eq 5 ]
expect "... in one line naming the file and the cause" \
  one_line_naming "$POSTKIT_OPS_MODULE: cannot load the postkit operations module: cannot open shared object file"
expect "... without a sanitizer report" no_sanitizer_report
run_pk probe --json "$T/media/tone.wav"
expect "... with --json, an error record with status 5" jq -e '.status == 5 and .results[0].error.status == 5' "$out"
run_pk search tone
expect "... search does not need it (exit 0)" [ "$rc" -eq 0 ]
run_pk probe --help
expect "... nor probe --help (exit 0)" grep -q "^Usage: postkit probe" "$out"
run_pk probe --no-such-option "$T/media/tone.wav"
expect "... nor a usage error (exit 2)" [ "$rc" -eq 2 ]

export POSTKIT_OPS_MODULE=$T/not-a-library.so
echo "this is text, not a shared library" >"$POSTKIT_OPS_MODULE"
run_pk probe "$T/media/tone.wav"
expect "a file that is no library: exit 5" [ "$rc" -eq 5 ]
expect "... in one line naming the file" \
  one_line_naming "$POSTKIT_OPS_MODULE: cannot load the postkit operations module: "

libm=$(ldconfig -p | awk '/libm\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -n "$libm" ]; then
  export POSTKIT_OPS_MODULE=$libm
  run_pk probe "$T/media/tone.wav"
  expect "a library that is not the module: exit 5" [ "$rc" -eq 5 ]
  expect "... in one line saying so" one_line_naming "$libm: not a postkit operations module"
else
  skip "a library that is not the module" "ldconfig lists no x86-64 libm.so.6"
  skip "... in one line saying so" "ldconfig lists no x86-64 libm.so.6"
fi
unset POSTKIT_OPS_MODULE

run_pk_traced probe --json "$T/media/tone.wav"
expect "probe of a WAV: an audio file" jq -e '.results[0].type == "audio"' "$out"
expect "... without loading ImageMagick's format modules" bash -c "! grep -q 'file=[^ ]*ImageMagick[^ ]*/coders/' '$err'"

run_pk_traced probe --json "$T/media/chart.jpg"
expect "probe of a JPEG: a photo, 64x48" jq -e '.results[0].type == "photo"' "$out"
expect "... read by libvips, which started on demand" opened "vips-modules"

finish
