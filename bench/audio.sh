#!/usr/bin/env bash
# bench/audio.sh BUILD_DIR — audio benchmarks, same-run ratios:
#  1. `postkit loudness` vs `ffmpeg -af ebur128=peak=true` on one 10-minute
#     stereo 48 kHz file (target: >= 2x faster);
#  2. `postkit normalize` vs ffmpeg's two-pass loudnorm (measure, then apply
#     with linear=true), both writing 24-bit WAV (target: >= 3x faster, and
#     closer to the target loudness);
#  3. peak memory (max RSS) of loudness and normalize on a 2-hour file next
#     to a 1-minute one.
# Prints a Markdown section (append it to bench/RESULTS.md). Needs ffmpeg,
# hyperfine, jq. Files go to ${BENCH_TMP:-/tmp/postkit-bench-audio}.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
pk="$build/postkit"
tmp=${BENCH_TMP:-/tmp/postkit-bench-audio}
mkdir -p "$tmp"
runs=${BENCH_RUNS:-5}

# Music-like programme: plucked chord, bass, ticks and pink noise, with a
# slow level change so gating and LRA have work to do.
music() { # FILE SECONDS
  local e="(0.25*sin(2*PI*110*t)*exp(-6*mod(t\,0.5))+0.12*sin(2*PI*277*t)+0.1*sin(2*PI*330*t)*exp(-3*mod(t\,0.25))+0.3*sin(2*PI*2637*t)*exp(-60*mod(t\,0.5)))*(0.6+0.4*sin(2*PI*t/40))"
  [ -f "$1" ] || ffmpeg -nostdin -v error -f lavfi -i "aevalsrc=exprs=$e|0.9*$e:s=48000:d=$2" \
    -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.03:d=$2" \
    -filter_complex "[0][1]amix=inputs=2:normalize=0,volume=-8dB,aformat=channel_layouts=stereo" -c:a pcm_s24le "$1"
}
f10="$tmp/music-10min.wav"
music "$f10" 600

echo "## Audio (bench/audio.sh, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "### loudness: 10-minute stereo 48 kHz 24-bit WAV"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/loud.json" \
  -n postkit "$pk loudness $f10" \
  -n ffmpeg-ebur128 "ffmpeg -nostdin -vn -i $f10 -af ebur128=peak=true -f null -" >"$tmp/loud.txt" 2>&1
jq -r '.results[] | "- \(.command): \(.mean * 1000 | floor) ms mean (± \(.stddev * 1000 | floor)), user \(.user * 1000 | floor) ms"' "$tmp/loud.json"
jq -r '"- ratio ffmpeg/postkit: **\((.results[1].mean / .results[0].mean * 100 | floor) / 100)x** (target >= 2x)"' "$tmp/loud.json"

echo
echo "### normalize to -23 LUFS / -1 dBTP, same file, 24-bit WAV out"
cat >"$tmp/loudnorm2.sh" <<'SH'
#!/usr/bin/env bash
# ffmpeg two-pass loudnorm: measure, then apply with the measured values, linear.
set -euo pipefail
in=$1 out=$2
m=$(ffmpeg -nostdin -hide_banner -i "$in" -af loudnorm=I=-23:TP=-1:LRA=50:print_format=json -f null - 2>&1 | sed -n '/^{/,/^}/p')
v() { echo "$m" | jq -r ".$1"; }
ffmpeg -nostdin -v error -y -i "$in" -af "loudnorm=I=-23:TP=-1:LRA=50:measured_I=$(v input_i):measured_TP=$(v input_tp):measured_LRA=$(v input_lra):measured_thresh=$(v input_thresh):offset=$(v target_offset):linear=true" \
  -ar 48000 -c:a pcm_s24le "$out"
SH
chmod +x "$tmp/loudnorm2.sh"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/norm.json" \
  -n postkit "$pk normalize $f10 -o $tmp/pk-norm.wav --target ebu-r128 --force" \
  -n ffmpeg-loudnorm-2pass "$tmp/loudnorm2.sh $f10 $tmp/ff-norm.wav" >"$tmp/norm.txt" 2>&1
jq -r '.results[] | "- \(.command | split(" ")[0] | split("/")[-1]): \(.mean * 1000 | floor) ms mean (± \(.stddev * 1000 | floor))"' "$tmp/norm.json"
jq -r '"- ratio ffmpeg/postkit: **\((.results[1].mean / .results[0].mean * 100 | floor) / 100)x** (target >= 3x)"' "$tmp/norm.json"
for o in pk-norm ff-norm; do
  ff=$(ffmpeg -nostdin -hide_banner -i "$tmp/$o.wav" -af ebur128=peak=true -f null - 2>&1 | awk '/I:/ {i=$2} /Peak:/ {p=$2} END {print i, p}')
  pkm=$("$pk" loudness --json "$tmp/$o.wav" | jq -r '.results[0] | "\(.integrated) \(.true_peak)"')
  echo "- $o output: postkit meter ${pkm% *} LUFS / ${pkm#* } dBTP; ffmpeg ebur128 ${ff% *} LUFS / ${ff#* } dBTP (target -23.0)"
done

echo
echo "### peak memory (max RSS), 2-hour vs 1-minute stereo 48 kHz FLAC"
f2h="$tmp/tone-2h.flac" f1m="$tmp/tone-1min.flac"
[ -f "$f2h" ] || ffmpeg -nostdin -v error -f lavfi -i "sine=f=440:r=48000:d=7200,volume=0.3,aformat=channel_layouts=stereo" -c:a flac "$f2h"
[ -f "$f1m" ] || ffmpeg -nostdin -v error -f lavfi -i "sine=f=440:r=48000:d=60,volume=0.3,aformat=channel_layouts=stereo" -c:a flac "$f1m"
for f in "$f1m" "$f2h"; do
  for op in loudness normalize; do
    args=("$f"); [ "$op" = normalize ] && args+=(-o "$tmp/rss-out.flac" --force)
    /usr/bin/time -f "%M %e" -o "$tmp/rss" "$pk" "$op" "${args[@]}" >/dev/null 2>&1
    read -r kb secs <"$tmp/rss"
    echo "- $op $(basename "$f"): max RSS $((kb / 1024)) MB, $secs s"
  done
done
echo
echo "Commands: see bench/audio.sh (hyperfine -N --warmup 1 --runs $runs)."
