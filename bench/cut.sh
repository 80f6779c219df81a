# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/cut.sh — sourced by bench/run (see there for the protocol).
# `postkit cut` of a 10-minute 1080p25 clip with 20 cuts (a transcript of a
# word every second, every 30th word deleted) against ffmpeg rendering the
# same 21 ranges with trim/atrim and the concat filter (one decode, the same
# libx264 preset and CRF, AAC at the same bit rate): both re-encode and are
# exact to the frame. (The stream-copy concat demuxer is no peer: it cuts
# only at keyframes. bench/RESULTS.md has it timed once, for scale.)
# BENCH_CUT_PRESET chooses the x264 preset of both renders (veryfast).
about="cut a 10-min 1080p clip at 20 places: postkit vs ffmpeg trim+concat filter on the same ranges"
target=1.2
preset=${BENCH_CUT_PRESET:-veryfast}
crf=18

prepare() {
  local clip="$BENCH_WORK/clip1080.mp4"
  echo "  making a 10-minute 1080p25 H.264/AAC clip"
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=1920x1080:rate=25" \
    -f lavfi -i "sine=frequency=300:sample_rate=48000" -t 600 \
    -c:v libx264 -preset ultrafast -g 50 -pix_fmt yuv420p -c:a aac -b:a 128k "$clip" || return 1
  /usr/bin/python3 - "$BENCH_WORK/words.json" "$BENCH_WORK/edited.txt" <<'PY'
import json, sys
words = [{"text": f"w{i}", "start": i + 0.2, "end": i + 0.7, "confidence": 1.0} for i in range(600)]
json.dump({"format": "postkit-transcript", "version": 1, "source": "clip1080.mp4", "duration": 600,
           "time_offset": 0, "engine": {"name": "bench", "model": "", "model_version": "", "model_sha256": ""},
           "words": words}, open(sys.argv[1], "w"))
open(sys.argv[2], "w").write(" ".join(w["text"] for i, w in enumerate(words) if i % 30 != 15) + "\n")
PY
  # postkit's plan (no render) gives the ranges ffmpeg is asked to render.
  "$POSTKIT" cut "$clip" --transcript "$BENCH_WORK/edited.txt" --words "$BENCH_WORK/words.json" \
    --edl "$BENCH_WORK/cut.edl" --json --force >"$BENCH_WORK/plan.json" || return 1
  local n
  n=$(jq '.results[0].ranges | length' "$BENCH_WORK/plan.json")
  echo "  $n kept ranges, libx264 preset $preset CRF $crf, AAC 128 kb/s on both sides"
  jq -r --argjson n "$n" '.results[0].ranges as $r |
    ([range(0; $n) | "[v\(.)]trim=start_frame=\($r[.].start_frame):end_frame=\($r[.].end_frame),setpts=PTS-STARTPTS[v\(.)o];[a\(.)]atrim=start=\($r[.].start):end=\($r[.].end),asetpts=PTS-STARTPTS[a\(.)o]"] | join(";")) as $cuts |
    "[0:v]split=\($n)" + ([range(0; $n) | "[v\(.)]"] | join("")) + ";[0:a]asplit=\($n)" + ([range(0; $n) | "[a\(.)]"] | join("")) +
    ";" + $cuts + ";" + ([range(0; $n) | "[v\(.)o][a\(.)o]"] | join("")) + "concat=n=\($n):v=1:a=1[v][a]"' \
    "$BENCH_WORK/plan.json" >"$BENCH_WORK/filter.txt"
}

postkit_cmd="$POSTKIT cut $BENCH_WORK/clip1080.mp4 --transcript $BENCH_WORK/edited.txt --words $BENCH_WORK/words.json -o $BENCH_WORK/postkit.mp4 --preset $preset --crf $crf --force"
peer_names=(ffmpeg-trim-concat)
peer_cmds=("ffmpeg -nostdin -loglevel error -y -i $BENCH_WORK/clip1080.mp4 -filter_complex_script $BENCH_WORK/filter.txt -map [v] -map [a] -c:v libx264 -preset $preset -crf $crf -c:a aac -b:a 128k $BENCH_WORK/ffmpeg.mp4")
