# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/qc-real.sh — `postkit qc` against decoding alone on the real clips
# of $PK_CORPORA/video_qc (H.264 720p, MPEG-4, Cinepak, H.264 240p; 67 s in
# all), one command for all four on each side. Same target as qc-decode:
# QC at least 0.75x the speed of decoding (postkit at most 1.333x ffmpeg).
about="postkit qc vs decode alone (ffmpeg -f null) on the 4 real clips of video_qc"
target=1.333

prepare() {
  [ -d "$PK_CORPORA/video_qc" ] || { echo "  no corpora at $PK_CORPORA/video_qc"; return 1; }
  local c clips=() decode=""
  for c in cockatoo.mp4 Megamind.avi tree.avi realshort.mp4; do
    clips+=("'$PK_CORPORA/video_qc/$c'")
    decode+="ffmpeg -nostdin -v quiet -i '$PK_CORPORA/video_qc/$c' -f null -; "
  done
  postkit_cmd="'$POSTKIT' qc --quiet ${clips[*]} >/dev/null; [ \$? -le 1 ]" # 1: a file fails its profile
  peer_cmds=("$decode")
}
peer_names=("ffmpeg decode only, each clip")
