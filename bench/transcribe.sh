#!/usr/bin/env bash
# bench/transcribe.sh [BUILD] — real-time factor of `postkit transcribe`
# (PocketSphinx engine) against `pocketsphinx_continuous -infile` on the same
# 10 minutes of speech: the ASR corpus clips repeated (flite speech when the
# corpus is absent). Same machine, same run, hyperfine; RUNS=N repeats (2).
# Prints a Markdown block to append to bench/RESULTS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
corpora=${PK_CORPORA:-$root/../shared/corpora}
out=$root/bench/out/transcribe
runs=${RUNS:-2}
mkdir -p "$out"
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing (scripts/setup)" >&2; exit 1; }
command -v pocketsphinx_continuous >/dev/null || { echo "bench: pocketsphinx_continuous missing" >&2; exit 1; }

speech=$out/speech10.wav
if [ ! -s "$speech" ]; then
  list=$out/list.txt; : >"$list"
  if [ -d "$corpora/asr" ]; then
    src=("$corpora"/asr/cmu_arctic/*.wav "$corpora"/asr/whisper_jfk/jfk.mp3)
    source_name="corpus clips ($corpora/asr) repeated"
  else
    flite -t "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country." -o "$out/flite.wav"
    src=("$out/flite.wav"); source_name="a flite sentence repeated"
  fi
  i=0
  for f in "${src[@]}"; do
    ffmpeg -loglevel error -y -i "$f" -ar 16000 -ac 1 -c:a pcm_s16le "$out/part$i.wav"
    echo "file 'part$i.wav'" >>"$out/parts.txt"; i=$((i + 1))
  done
  for _ in $(seq 60); do cat "$out/parts.txt"; done >"$list"
  ffmpeg -loglevel error -y -f concat -safe 0 -i "$list" -t 600 -c:a pcm_s16le "$speech"
  echo "$source_name" >"$out/source.txt"
fi
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$speech")

hyperfine --runs "$runs" --export-json "$out/hyperfine.json" \
  -n postkit "$build/postkit transcribe $speech -o $out/postkit.txt --engine pocketsphinx --no-store --force" \
  -n pocketsphinx_continuous "pocketsphinx_continuous -infile $speech -logfn /dev/null > $out/direct.txt" >&2

p=$(jq '.results[] | select(.command == "postkit") | .mean' "$out/hyperfine.json")
d=$(jq '.results[] | select(.command == "pocketsphinx_continuous") | .mean' "$out/hyperfine.json")
pu=$(jq '.results[] | select(.command == "postkit") | .user + .system' "$out/hyperfine.json")
du=$(jq '.results[] | select(.command == "pocketsphinx_continuous") | .user + .system' "$out/hyperfine.json")
cat <<MD

### transcribe: RTF vs pocketsphinx_continuous ($(date -u +%Y-%m-%d), $(git -C "$root" rev-parse --short HEAD))
Input: $(printf '%.0f' "$dur") s of speech, 16 kHz mono ($(cat "$out/source.txt")). $(nproc) cores, load
average $(cut -d' ' -f1-3 /proc/loadavg) (other work shares the machine: compare the two rows, not absolute times).
\`bench/transcribe.sh\`, hyperfine, $runs run(s) each.

| command | wall time | real-time factor | CPU time (user+sys) |
| --- | ---: | ---: | ---: |
| \`postkit transcribe --engine pocketsphinx\` (VAD, 2 decoders) | $(printf '%.1f' "$p") s | $(printf '%.3f' "$(echo "$p / $dur" | bc -l)") | $(printf '%.1f' "$pu") s |
| \`pocketsphinx_continuous -infile\` | $(printf '%.1f' "$d") s | $(printf '%.3f' "$(echo "$d / $dur" | bc -l)") | $(printf '%.1f' "$du") s |

postkit / pocketsphinx_continuous: wall **$(printf '%.2f' "$(echo "$p / $d" | bc -l)")x**, CPU **$(printf '%.2f' "$(echo "$pu / $du" | bc -l)")x** (target ≤ 1 in wall time).
MD
