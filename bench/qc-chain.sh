# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/qc-chain.sh — `postkit qc` against one ffmpeg run with the nearest
# filter chain (blackdetect, freezedetect, scdet, signalstats on the
# picture; ebur128=peak=true, astats, silencedetect on the sound), on the
# generated 60 s 1080p25 H.264 + stereo AAC file. Issue 4: QC at least 4x
# faster, i.e. postkit's time at most 0.25x ffmpeg's. The chain finds less
# (no flash frames, photosensitivity, dead pixels, channel checks, verdict).
about="postkit qc vs ffmpeg blackdetect,freezedetect,scdet,signalstats + ebur128,astats,silencedetect"
target=0.25
. "$PK_ROOT/bench/qc-inputs"

prepare() {
  command -v ffmpeg >/dev/null || { echo "  ffmpeg is not installed"; return 1; }
  qc60=$(qc_input_60s) || { echo "  cannot make the 60 s input"; return 1; }
  echo "  input: $qc60"
  echo "  chain: ffmpeg -nostdin -i FILE $qc_ffmpeg_chain -f null -"
  postkit_cmd="'$POSTKIT' qc --quiet '$qc60' >/dev/null; [ \$? -le 1 ]" # 1: the file fails its profile
  peer_cmds=("ffmpeg -nostdin -i '$qc60' $qc_ffmpeg_chain -f null -")
}
peer_names=("ffmpeg filter chain")
