#!/usr/bin/env bash
# bench/qc.sh BUILD_DIR — delivery QC benchmarks, same-run ratios:
#  1. `postkit qc` vs decoding alone (`ffmpeg -nostdin -i X -f null -`) on a
#     generated 60 s 1080p25 H.264 + stereo AAC file (testsrc2 + real speech)
#     and on real clips (target: qc >= 0.75x the speed of decoding);
#  2. `postkit qc` vs one ffmpeg run with the nearest filter chain
#     (blackdetect, freezedetect, scdet, signalstats, ebur128=peak=true,
#     astats, silencedetect) (target: >= 4x faster);
#  3. peak memory (max RSS) on a 1-minute and a 20-minute input (the 20
#     minutes are the 1-minute file 20 times over, stream-copied).
# Wall times are medians of hyperfine runs; CPU (user+system) is given too
# because the machine is shared: compare ratios of one run.
# Prints a Markdown section (append it to bench/RESULTS.md). Needs ffmpeg,
# hyperfine, jq. Files go to ${BENCH_TMP:-/tmp/postkit-bench-qc}.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
pk="$build/postkit"
root=$(cd "$(dirname "$0")/.." && pwd)
corpora=${PK_CORPORA:-$root/../shared/corpora}
tmp=${BENCH_TMP:-/tmp/postkit-bench-qc}
mkdir -p "$tmp"
runs=${BENCH_RUNS:-3}
ff() { ffmpeg -nostdin -v error -y "$@"; }

# The 60 s file: testsrc2 1080p25 and speech (jfk.mp3 from the corpora when
# there, else espeak-ng / flite) looped to 60 s, stereo AAC.
f60="$tmp/testsrc2-1080p25-60s.mp4"
if [ ! -f "$f60" ]; then
  speech="$tmp/speech.wav"
  if [ -f "$corpora/asr/whisper_jfk/jfk.mp3" ]; then
    ff -i "$corpora/asr/whisper_jfk/jfk.mp3" -ar 48000 "$speech"
  else
    flite -t "Delivery quality control reads every frame and every sample once." -o "$speech"
  fi
  ff -f lavfi -i "testsrc2=s=1920x1080:r=25:d=60" -stream_loop -1 -i "$speech" -t 60 -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -crf 20 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 -ar 48000 "$f60"
fi
f20m="$tmp/testsrc2-1080p25-20min.mp4"
if [ ! -f "$f20m" ]; then
  for i in $(seq 20); do echo "file '$f60'"; done >"$tmp/list.txt"
  ff -f concat -safe 0 -i "$tmp/list.txt" -c copy "$f20m"
fi
clips=("$f60")
for c in "$corpora/video_qc/cockatoo.mp4" "$corpora/video_neardup/videohash_rocket_f5ecff1.webm"; do
  [ -f "$c" ] && clips+=("$c")
done

chain="-vf blackdetect,freezedetect,scdet,signalstats -af ebur128=peak=true,astats,silencedetect"

echo "## Delivery QC (bench/qc.sh, $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
echo
echo "Shared machine: every ratio compares commands of the same hyperfine run. \`postkit qc\` exits 1"
echo "(the files fail the profile), hence \`-i\`."
echo
echo "| file | decode only (ffmpeg -f null) | postkit qc | ffmpeg filter chain | qc vs decode (target >= 0.75x) | qc vs chain (target >= 4x) | CPU qc / decode |"
echo "|---|---|---|---|---|---|---|"
for f in "${clips[@]}"; do
  name=$(basename "$f")
  j="$tmp/$name.json"
  hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$j" \
    -n decode "ffmpeg -nostdin -i $f -f null -" \
    -n qc "$pk qc $f" \
    -n chain "ffmpeg -nostdin -i $f $chain -f null -" >"$tmp/$name.txt" 2>&1
  jq -r --arg n "$name" '
    def med(i): .results[i].median;
    def cpu(i): (.results[i].user + .results[i].system);
    "| \($n) | \(med(0) * 100 | round / 100) s | \(med(1) * 100 | round / 100) s | \(med(2) * 100 | round / 100) s | **\(med(0) / med(1) * 100 | round / 100)x** | **\(med(2) / med(1) * 10 | round / 10)x** | \(cpu(1) * 100 | round / 100) s / \(cpu(0) * 100 | round / 100) s |"' "$j"
done
echo
echo "ffmpeg chain: \`ffmpeg -nostdin -i FILE $chain -f null -\` (it finds less: no flash frames,"
echo "photosensitivity, dead pixels, channel checks or verdict)."
echo
echo "### Peak memory (max RSS)"
echo
for f in "$f60" "$f20m"; do
  /usr/bin/time -f "%M %e %U %S" -o "$tmp/rss" "$pk" qc "$f" >/dev/null 2>&1 || true
  read -r kb secs user sys < <(tail -n 1 "$tmp/rss")
  echo "- \`postkit qc\` $(basename "$f"): max RSS $((kb / 1024)) MB, $secs s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') s CPU"
done
echo
echo "Commands: bench/qc.sh (hyperfine -N -i --warmup 1 --runs $runs)."
