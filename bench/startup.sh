#!/usr/bin/env bash
# bench/startup.sh BUILD_DIR [BEFORE_BUILD_DIR] — process start-up (issues 5 and 2).
#
# Times the commands whose cost is mostly the start of the process:
# `postkit --version`, `--help`, `search WORD` on a catalogue of 3 files,
# and `probe FILE` of a 1-second WAV and of a 320x240 JPEG (generated here
# with ffmpeg). hyperfine without a shell (-N), 3 warm-up runs, RUNS runs
# (50). Prints a Markdown table: median wall time and mean CPU time
# (user+sys) per command, for BUILD_DIR and, when given, for an older build
# to compare with in the same run. Wall times mean something only on an idle
# machine (the load average is printed); CPU time depends little on load.
# Target: each command's CPU time <= TARGET_MS (30) in BUILD_DIR; exit 1 when
# one is missed.
set -uo pipefail
build=$(cd "${1:?usage: bench/startup.sh BUILD_DIR [BEFORE_BUILD_DIR]}" && pwd)
before=${2:+$(cd "$2" && pwd)}
runs=${RUNS:-50}
target_ms=${TARGET_MS:-30}
work=${BENCH_TMP:-/tmp/pk-bench-startup}
rm -rf "$work" && mkdir -p "$work/media"
export POSTKIT_CATALOG="$work/catalog.db" XDG_CACHE_HOME="$work/cache"

ffmpeg -v error -f lavfi -i "sine=frequency=440:duration=1" "$work/media/tone.wav" &&
  ffmpeg -v error -f lavfi -i "testsrc=size=320x240" -frames:v 1 "$work/media/chart.jpg" &&
  ffmpeg -v error -f lavfi -i "sine=frequency=220:duration=1" "$work/media/hum.flac" ||
  { echo "bench/startup.sh: ffmpeg could not make the sample media" >&2; exit 3; }
"$build/postkit" index "$work/media" >/dev/null 2>&1 ||
  { echo "bench/startup.sh: postkit index failed" >&2; exit 3; }
"$build/postkit" search tone | grep -q tone.wav ||
  { echo "bench/startup.sh: search does not find the indexed file" >&2; exit 3; }

names=("--version" "--help" "search tone" "probe tone.wav" "probe chart.jpg")
args_of() {
  case $1 in
    0) echo "--version" ;;
    1) echo "--help" ;;
    2) echo "search tone" ;;
    3) echo "probe $work/media/tone.wav" ;;
    4) echo "probe $work/media/chart.jpg" ;;
  esac
}

# "median_ms cpu_ms" of one command line (words split on spaces).
measure() {
  local json=$work/run.json
  # shellcheck disable=SC2086 # the command line is split into words on purpose
  hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$json" "$*" >/dev/null 2>&1 ||
    { echo "- -"; return; }
  jq -r '.results[0] | "\(.median * 1000 | round) \((.user + .system) * 1000 | round)"' "$json"
}

echo "### Start-up — $(date -u +%Y-%m-%d), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "\`bench/startup.sh ${1}${2:+ $2}\` (hyperfine -N, 3 warm-up + $runs runs; wall = median, CPU = mean user+sys)"
echo
if [ -n "$before" ]; then
  echo "| command | before: wall ms | before: CPU ms | after: wall ms | after: CPU ms |"
  echo "|---|---|---|---|---|"
else
  echo "| command | wall ms | CPU ms |"
  echo "|---|---|---|"
fi
missed=0
for i in "${!names[@]}"; do
  args=$(args_of "$i")
  row="| postkit ${names[$i]} |"
  if [ -n "$before" ]; then
    read -r w c < <(measure "$before/postkit" $args)
    row="$row $w | $c |"
  fi
  read -r w c < <(measure "$build/postkit" $args)
  row="$row $w | $c |"
  echo "$row"
  if [ "$c" = "-" ] || [ "$c" -gt "$target_ms" ]; then missed=1; fi
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); target: CPU <= $target_ms ms per command: $([ $missed -eq 0 ] && echo met || echo MISSED)"
exit $missed
