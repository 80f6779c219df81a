# End-to-end: what a command loads at start-up. Libraries a command does not
# use are not loaded (ld.so's trace, LD_DEBUG=files, names every file it
# opens): search loads no libvips format module, probing an audio file loads
# none of ImageMagick's format modules, and the results are unchanged.
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

run_pk_traced search tone
expect "search finds the WAV" grep -q "tone.wav" "$out"
expect "... without starting libvips (no vips-modules loaded)" bash -c "! grep -q 'file=[^ ]*vips-modules' '$err'"

run_pk_traced probe --json "$T/media/tone.wav"
expect "probe of a WAV: an audio file" jq -e '.results[0].type == "audio"' "$out"
expect "... without loading ImageMagick's format modules" bash -c "! grep -q 'file=[^ ]*ImageMagick[^ ]*/coders/' '$err'"

run_pk_traced probe --json "$T/media/chart.jpg"
expect "probe of a JPEG: a photo, 64x48" jq -e '.results[0].type == "photo"' "$out"
expect "... read by libvips, which started on demand" opened "vips-modules"

finish
