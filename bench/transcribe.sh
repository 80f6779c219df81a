# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which reads these
# bench/transcribe.sh — sourced by bench/run (see there for the protocol).
# Real-time factor of `postkit transcribe` with the PocketSphinx engine
# against `pocketsphinx_continuous -infile` on the same 10 minutes of speech:
# the ASR corpus clips repeated (a flite sentence repeated when the corpus is
# absent). The target: postkit takes no longer (VAD skips the silences and
# both cores decode). RTF = median / 600 s.
about="transcribe 10 min of speech: postkit (PocketSphinx, VAD, 2 decoders) vs pocketsphinx_continuous -infile"
target=1.0

prepare() {
  command -v pocketsphinx_continuous >/dev/null ||
    { echo "  pocketsphinx_continuous is missing (Debian package pocketsphinx)"; return 1; }
  local src=() i=0 f
  if [ -d "$PK_CORPORA/asr" ]; then
    src=("$PK_CORPORA"/asr/cmu_arctic/*.wav "$PK_CORPORA"/asr/whisper_jfk/jfk.mp3)
    echo "  speech: the clips of $PK_CORPORA/asr repeated to 600 s"
  else
    flite -t "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country." \
      -o "$BENCH_WORK/flite.wav"
    src=("$BENCH_WORK/flite.wav")
    echo "  speech: a flite sentence repeated to 600 s (no $PK_CORPORA/asr)"
  fi
  : >"$BENCH_WORK/parts.txt"
  for f in "${src[@]}"; do
    ffmpeg -nostdin -loglevel error -y -i "$f" -ar 16000 -ac 1 -c:a pcm_s16le "$BENCH_WORK/part$i.wav"
    echo "file 'part$i.wav'" >>"$BENCH_WORK/parts.txt"
    i=$((i + 1))
  done
  for _ in $(seq 60); do cat "$BENCH_WORK/parts.txt"; done >"$BENCH_WORK/list.txt"
  ffmpeg -nostdin -loglevel error -y -f concat -safe 0 -i "$BENCH_WORK/list.txt" -t 600 -c:a pcm_s16le \
    "$BENCH_WORK/speech10.wav"
}

postkit_cmd="$POSTKIT transcribe $BENCH_WORK/speech10.wav -o $BENCH_WORK/postkit.txt --engine pocketsphinx --no-store --force"
peer_names=(pocketsphinx_continuous)
peer_cmds=("pocketsphinx_continuous -infile $BENCH_WORK/speech10.wav -logfn /dev/null >$BENCH_WORK/direct.txt")
