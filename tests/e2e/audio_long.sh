#!/usr/bin/env bash
# End-to-end: a 2-hour file is measured and normalised in bounded memory —
# the peak RSS is that of a 1-minute file, not more. Measured on the release
# build when there is one (ASan's quarantine and shadow memory would be
# measured instead of postkit), else on the tested build with a small
# quarantine.
. "$(dirname "$0")/lib.sh"
T=$SUITE_TMP
bin=$POSTKIT
if [ -x "$PK_ROOT/build/postkit" ]; then
  bin=$PK_ROOT/build/postkit
else
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1"
fi
ffmpeg -nostdin -v error -f lavfi -i "sine=f=440:r=48000:d=60,volume=0.3,aformat=channel_layouts=stereo" -c:a flac "$T/1min.flac"
ffmpeg -nostdin -v error -f lavfi -i "sine=f=440:r=48000:d=7200,volume=0.3,aformat=channel_layouts=stereo" -c:a flac "$T/2h.flac"

rss() { # OP ARGS... -> max RSS in KB (time's last line: a failed command adds one before it)
  /usr/bin/time -f "%M" -o "$T/rss" "$bin" "$@" >"$out" 2>"$err"
  echo "$?" >"$T/rc"
  tail -n 1 "$T/rss"
}
short=$(rss loudness --json "$T/1min.flac")
expect "loudness of 1 min: exit 0" [ "$(cat "$T/rc")" -eq 0 ]
long=$(rss loudness --json "$T/2h.flac")
rc=$(cat "$T/rc")
expect "loudness of 2 h: exit 0" [ "$rc" -eq 0 ]
expect "loudness of 2 h measured whole ($(jq -r '.results[0].duration' "$out") s)" [ "$(jq -r '.results[0].duration | floor' "$out")" -eq 7200 ]
expect "loudness: 2 h peak RSS $((long / 1024)) MB <= 1 min $((short / 1024)) MB + 8 MB" [ "$long" -le $((short + 8192)) ]
short=$(rss normalize "$T/1min.flac" -o "$T/1min_out.flac" --target ebu-r128)
expect "normalize of 1 min: exit 0" [ "$(cat "$T/rc")" -eq 0 ]
long=$(rss normalize "$T/2h.flac" -o "$T/2h_out.flac" --target ebu-r128 --json)
rc=$(cat "$T/rc")
expect "normalize of 2 h: exit 0" [ "$rc" -eq 0 ]
expect "normalize of 2 h on target" [ "$(jq -r '.results[0].within_tolerance' "$out")" = true ]
expect "normalize: 2 h peak RSS $((long / 1024)) MB <= 1 min $((short / 1024)) MB + 8 MB" [ "$long" -le $((short + 8192)) ]
rm -f "$T/2h.flac" "$T/2h_out.flac"
finish
