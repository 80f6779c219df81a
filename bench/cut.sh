#!/usr/bin/env bash
# bench/cut.sh [BUILD] — `postkit cut` of a 10-minute 1080p clip with 20
# cuts against ffmpeg rendering the same 21 ranges (trim/atrim + concat
# filter, one decode, the same libx264 preset and CRF, AAC at the same bit
# rate): both re-encode and are exact to the frame. The stream-copy concat
# demuxer (cuts only at keyframes, so not frame-accurate) is timed too, for
# scale. Same machine, same run, hyperfine; RUNS=N repeats (2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=$root/bench/out/cut
runs=${RUNS:-2}
preset=${PRESET:-veryfast}
crf=18
mkdir -p "$out"
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing (scripts/setup)" >&2; exit 1; }

clip=$out/clip1080.mp4
if [ ! -s "$clip" ]; then
  ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=25" \
    -f lavfi -i "sine=frequency=300:sample_rate=48000" -t 600 \
    -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p -c:a aac -b:a 128k "$clip"
fi
# A transcript with a word every second; deleting every 30th word makes 20 cuts.
/usr/bin/python3 - "$out/words.json" "$out/edited.txt" <<'PY'
import json, sys
words = [{"text": f"w{i}", "start": i + 0.2, "end": i + 0.7, "confidence": 1.0} for i in range(600)]
json.dump({"format": "postkit-transcript", "version": 1, "source": "clip1080.mp4", "duration": 600,
           "time_offset": 0, "engine": {"name": "bench", "model": "", "model_version": "", "model_sha256": ""},
           "words": words}, open(sys.argv[1], "w"))
open(sys.argv[2], "w").write(" ".join(w["text"] for i, w in enumerate(words) if i % 30 != 15) + "\n")
PY
"$build/postkit" cut "$clip" --transcript "$out/edited.txt" --words "$out/words.json" --edl "$out/cut.edl" \
  --json --force >"$out/plan.json"
n=$(jq '.results[0].ranges | length' "$out/plan.json")
# The same ranges for ffmpeg.
jq -r --argjson n "$n" '.results[0].ranges as $r |
  ([range(0; $n) | "[v\(.)]trim=start_frame=\($r[.].start_frame):end_frame=\($r[.].end_frame),setpts=PTS-STARTPTS[v\(.)o];[a\(.)]atrim=start=\($r[.].start):end=\($r[.].end),asetpts=PTS-STARTPTS[a\(.)o]"] | join(";")) as $cuts |
  "[0:v]split=\($n)" + ([range(0; $n) | "[v\(.)]"] | join("")) + ";[0:a]asplit=\($n)" + ([range(0; $n) | "[a\(.)]"] | join("")) +
  ";" + $cuts + ";" + ([range(0; $n) | "[v\(.)o][a\(.)o]"] | join("")) + "concat=n=\($n):v=1:a=1[v][a]"' \
  "$out/plan.json" >"$out/filter.txt"
jq -r '.results[0].ranges[] | "file '"'clip1080.mp4'"'\ninpoint \(.start)\noutpoint \(.end)"' "$out/plan.json" >"$out/concat.txt"

hyperfine --runs "$runs" --export-json "$out/hyperfine.json" \
  -n postkit "$build/postkit cut $clip --transcript $out/edited.txt --words $out/words.json -o $out/postkit.mp4 --preset $preset --crf $crf --force" \
  -n ffmpeg-filter "ffmpeg -loglevel error -y -i $clip -filter_complex_script $out/filter.txt -map [v] -map [a] -c:v libx264 -preset $preset -crf $crf -c:a aac -b:a 128k $out/ffmpeg.mp4" \
  -n ffmpeg-copy "ffmpeg -loglevel error -y -f concat -safe 0 -i $out/concat.txt -c copy $out/copy.mp4" >&2

t() { jq ".results[] | select(.command == \"$1\") | .mean" "$out/hyperfine.json"; }
u() { jq ".results[] | select(.command == \"$1\") | .user + .system" "$out/hyperfine.json"; }
p=$(t postkit) f=$(t ffmpeg-filter) c=$(t ffmpeg-copy)
pu=$(u postkit) fu=$(u ffmpeg-filter) cu=$(u ffmpeg-copy)
frames() { ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
cat <<MD

### cut: 10-min 1080p25, 20 cuts, vs ffmpeg on the same ranges ($(date -u +%Y-%m-%d), $(git -C "$root" rev-parse --short HEAD))
Input: testsrc2 1920x1080 25 fps H.264 + AAC, 600 s; $n kept ranges. Both renders: libx264 preset $preset, CRF $crf,
AAC 128 kb/s. $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: compare rows of this run).
\`bench/cut.sh\`, hyperfine, $runs run(s) each.

| command | wall time | CPU time (user+sys) | video frames out |
| --- | ---: | ---: | ---: |
| \`postkit cut\` (decode once, re-encode, crossfades) | $(printf '%.1f' "$p") s | $(printf '%.1f' "$pu") s | $(frames "$out/postkit.mp4") |
| \`ffmpeg\` trim/atrim + concat filter, same encoder settings | $(printf '%.1f' "$f") s | $(printf '%.1f' "$fu") s | $(frames "$out/ffmpeg.mp4") |
| \`ffmpeg -f concat -c copy\` (keyframe cuts, not frame-accurate) | $(printf '%.1f' "$c") s | $(printf '%.1f' "$cu") s | $(frames "$out/copy.mp4") |

postkit / ffmpeg filter concat: wall **$(printf '%.2f' "$(echo "$p / $f" | bc -l)")x**, CPU **$(printf '%.2f' "$(echo "$pu / $fu" | bc -l)")x** (target ≤ 1.2).
MD
