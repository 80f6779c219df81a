#!/usr/bin/env bash
# End-to-end: a 2-hour file needs no more memory than a 10-minute one, and
# Ctrl-C during a long extraction leaves nothing behind.
#
# The files are 8 kHz mono noise in FLAC (fast to make: ~10 s for 2 hours)
# so the whole suite stays under a minute even with ASan.
. "$(dirname "$0")/lib.sh"
d=$SUITE_TMP
dump="$(dirname "$POSTKIT")/tests/media_dump"
ff() { ffmpeg -nostdin -v error -y "$@"; }
ff -f lavfi -i "anoisesrc=r=8000:d=600:a=0.002:s=7" -c:a flac -compression_level 0 "$d/10min.flac"
ff -f lavfi -i "anoisesrc=r=8000:d=7200:a=0.002:s=7" -c:a flac -compression_level 0 "$d/2h.flac"

# ASan keeps freed memory in a quarantine (256 MB by default) that fills in
# proportion to what is allocated over the run — it would make RSS grow with
# duration by itself. It is switched off for these measurements; every other
# check stays on.
measure() {
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" "$dump" --audio-only --summary "$1" >"$out" 2>"$err"
  rc=$?
  sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$out"
}
rss_short=$(measure "$d/10min.flac")
expect "10 min: every sample (4 800 000)" grep -q 'samples=4800000 ' "$out"
rss_long=$(measure "$d/2h.flac")
expect "2 h: every sample (57 600 000)" grep -q 'samples=57600000 ' "$out"
expect "no sanitizer report" no_sanitizer_report
echo "# peak RSS: 10 min ${rss_short} kB, 2 h ${rss_long} kB"
expect "peak RSS of 2 h is that of 10 min (within 5 %)" [ "$rss_long" -le $((rss_short * 105 / 100)) ]

# Ctrl-C while extracting: exit 130, no output, no temporary, no sidecar.
"$POSTKIT" extract-audio "$d/2h.flac" -o "$d/long.wav" >"$out" 2>"$err" &
pid=$!
# wait until the temporary output exists and has data, then interrupt
for _ in $(seq 1 200); do
  tmp=$(ls -A "$d" | grep 'postkit-tmp' | head -1)
  [ -n "$tmp" ] && [ "$(stat -c %s "$d/$tmp" 2>/dev/null || echo 0)" -gt 100000 ] && break
  sleep 0.05
done
expect "the extraction was writing when interrupted" [ -n "$tmp" ]
kill -INT "$pid"
wait "$pid"; rc=$?
expect "Ctrl-C: exit 130" [ "$rc" -eq 130 ]
expect "Ctrl-C: no output file" [ ! -e "$d/long.wav" ]
expect "Ctrl-C: no temporary file" [ -z "$(ls -A "$d" | grep 'postkit-tmp')" ]
expect "Ctrl-C: no provenance sidecar" [ ! -e "$d/long.wav.postkit.json" ]
expect "no sanitizer report" no_sanitizer_report
finish
