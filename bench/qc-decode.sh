# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/qc-decode.sh — `postkit qc` (every detector, one decode) against
# decoding alone (`ffmpeg -nostdin -i X -f null -`) on a generated 60 s
# 1080p25 H.264 + stereo AAC file. Issue 4: QC at least 0.75x the speed of
# decoding, i.e. postkit's time at most 1/0.75 = 1.333x ffmpeg's.
# prepare also prints QC's peak memory (max RSS) on the 1-minute file and
# on the same file 20 times over: memory must not grow with the duration.
about="postkit qc vs decode alone (ffmpeg -f null), 60 s 1080p25 H.264 + AAC"
target=1.333
. "$PK_ROOT/bench/qc-inputs"

# rss FILE — postkit qc's max RSS in MB, wall and CPU seconds.
qc_rss() {
  /usr/bin/time -f "%M %e %U %S" -o "$BENCH_WORK/rss" "$POSTKIT" qc --quiet "$1" >/dev/null 2>&1 || true
  # (the last line: time puts "Command exited with non-zero status 1" first)
  tail -n 1 "$BENCH_WORK/rss" | awk '{ printf "max RSS %d MB, %.1f s wall, %.1f s CPU", $1 / 1024, $2, $3 + $4 }'
}

prepare() {
  command -v ffmpeg >/dev/null || { echo "  ffmpeg is not installed"; return 1; }
  [ -x /usr/bin/time ] || { echo "  /usr/bin/time is not installed (package time)"; return 1; }
  qc60=$(qc_input_60s) || { echo "  cannot make the 60 s input"; return 1; }
  local qc20
  qc20=$(qc_input_20min) || { echo "  cannot make the 20 min input"; return 1; }
  echo "  input: $qc60"
  echo "  postkit qc, 1 min:  $(qc_rss "$qc60")"
  echo "  postkit qc, 20 min: $(qc_rss "$qc20")"
  postkit_cmd="'$POSTKIT' qc --quiet '$qc60' >/dev/null; [ \$? -le 1 ]" # 1: the file fails its profile
  peer_cmds=("ffmpeg -nostdin -i '$qc60' -f null -")
}
peer_names=("ffmpeg decode only")
