# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/probe.sh — `postkit probe --json` over every media file of the
# corpora in one invocation, against ffprobe the way it is used: one process
# per file, in a shell loop; and ffprobe two at a time (xargs -P2) as the
# fairer peer on a two-core machine. Media files are picked by extension
# (audio, video, photos, camera RAW); ffprobe cannot read the RAW files and
# fails fast on them, which only favours it.
about="probe --json over all media files of the corpora vs ffprobe -show_format -show_streams"
target=1.2

prepare() {
  if [ ! -d "$PK_CORPORA" ]; then echo "  no corpora at $PK_CORPORA"; return 1; fi
  command -v ffprobe >/dev/null || { echo "  ffprobe is not installed"; return 1; }
  find "$PK_CORPORA" -type f -regextype posix-extended -iregex \
    '.*\.(wav|mp3|mp4|m4a|mov|avi|mkv|webm|flac|ogg|opus|jpe?g|png|webp|tiff?|gif|heic|crw|cr2|cr3|kdc|nef|arw|dng|orf|rw2|raf)' \
    -print0 | sort -z >"$BENCH_WORK/files"
  local n
  n=$(tr -cd '\0' <"$BENCH_WORK/files" | wc -c)
  [ "$n" -gt 0 ] || { echo "  no media files in $PK_CORPORA"; return 1; }
  echo "  $n files, $(du -ch --files0-from="$BENCH_WORK/files" | tail -1 | cut -f1)"
  # Wrappers so each command reads the same list; bash starts on both sides.
  cat >"$BENCH_WORK/postkit.sh" <<SH
mapfile -d '' files <"$BENCH_WORK/files"
"$POSTKIT" probe --json "\${files[@]}" >/dev/null 2>&1
rc=\$?
[ \$rc -eq 0 ] || [ \$rc -eq 3 ] # 3: a file was refused (the corpora hold a corrupt JPEG)
SH
  cat >"$BENCH_WORK/ffprobe-loop.sh" <<SH
while IFS= read -r -d '' f; do
  ffprobe -v error -show_format -show_streams -of json "\$f" >/dev/null 2>&1
done <"$BENCH_WORK/files"
exit 0
SH
  cat >"$BENCH_WORK/ffprobe-xargs.sh" <<SH
xargs -0 -P2 -n1 ffprobe -v error -show_format -show_streams -of json <"$BENCH_WORK/files" >/dev/null 2>&1
exit 0
SH
  # postkit must read the files (a refused corrupt file is fine), or the
  # comparison is void.
  bash "$BENCH_WORK/postkit.sh" || { echo "  postkit probe failed on the media files"; return 1; }
  local refused
  refused=$(xargs -0 "$POSTKIT" probe --json <"$BENCH_WORK/files" 2>/dev/null |
    jq '[.results[] | select(.error)] | length')
  echo "  postkit refuses $refused of them (damaged or not media)"
}

postkit_cmd="bash '$BENCH_WORK/postkit.sh'"
peer_names=("ffprobe, one process per file" "ffprobe, xargs -P2")
peer_cmds=("bash '$BENCH_WORK/ffprobe-loop.sh'" "bash '$BENCH_WORK/ffprobe-xargs.sh'")
