# End-to-end: voice activity and transcription — VAD timing against speech
# placed at known offsets, subtitle formats and rules, the transcript store,
# WER on the ASR corpus against pocketsphinx_continuous, subtitle import,
# bad input, bounded memory on a 2-hour file, and the whisper.cpp path with a
# generated random-weight model served over loopback (plumbing, not accuracy).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
LIB="$PK_ROOT/tests/e2e/speech_lib.py"
T=$SUITE_TMP
export POSTKIT_TRANSCRIPTS=$T/transcripts
jqt() { jq -e "$@" >/dev/null; }
# Keep every run's stderr: the sanitizer check at the end reads them all.
run_pk() { "$POSTKIT" "$@" >"$out" 2>"$err"; rc=$?; cat "$err" >>"$T/all.stderr"; }

# Speech clips: flite phrases, trimmed to where the voice is (-50 dBFS).
trim='silenceremove=start_periods=1:start_threshold=-50dB,areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse'
phrases=("purple elephants are walking home" "the river is very cold today" "please call the doctor now")
clips=()
for i in 0 1 2; do
  flite -t "${phrases[$i]}" -o "$T/raw$i.wav"
  ffmpeg -loglevel error -y -i "$T/raw$i.wav" -af "$trim" -ar 16000 -ac 1 -c:a pcm_s16le "$T/clip$i.wav"
  clips+=("$T/clip$i.wav")
done
$PY "$LIB" vad-clip "$T/speech.wav" "$T/truth.json" "${clips[@]}"

# ---- VAD timing ----
run_pk vad --json "$T/speech.wav"
cp "$out" "$T/vad.json"
expect "vad exits 0" [ "$rc" -eq 0 ]
expect "vad finds the three speech clips" jqt '.results[0].segments | length == 3' "$T/vad.json"
expect "each segment starts and ends within 100 ms of the truth" $PY -c "
import json, sys
segs = json.load(open('$T/vad.json'))['results'][0]['segments']
truth = json.load(open('$T/truth.json'))['speech']
bad = [(s, t) for s, t in zip(segs, truth) if abs(s['start'] - t[0]) > 0.1 or abs(s['end'] - t[1]) > 0.1]
print('# vad vs truth:', [(round(s['start'] - t[0], 3), round(s['end'] - t[1], 3)) for s, t in zip(segs, truth)])
sys.exit(1 if bad or len(segs) != len(truth) else 0)"
expect "the record names the model and its SHA-256" \
  jqt '.results[0].model == "silero-vad" and (.results[0].model_sha256 | length == 64)' "$T/vad.json"
run_pk vad "$T/speech.wav" --threshold 0.99 --json
expect "a stricter threshold finds no more speech" \
  bash -c "[ \$(jq '.results[0].speech_seconds' '$out') \< \$(jq '.results[0].speech_seconds' '$T/vad.json') ] || [ \$(jq '.results[0].speech_seconds' '$out') = 0 ]"

# ---- transcription: formats, rules, provenance ----
run_pk transcribe "$T/speech.wav" -o "$T/speech.srt" -o "$T/speech.vtt" -o "$T/speech.json" -o "$T/speech.txt" \
  --engine pocketsphinx
expect "transcribe to .srt, .vtt, .json and .txt in one run exits 0" [ "$rc" -eq 0 ]
for ext in srt vtt json txt; do
  expect "... writing the .$ext" [ -s "$T/speech.$ext" ]
done
expect "the human report names the input, every output and the word count" \
  bash -c "grep -q 'speech.wav -> .*speech.srt, .*speech.txt' '$out' && grep -qE '^  [1-9][0-9]* words, ' '$out'"
expect "SRT cues are numbered with hh:mm:ss,mmm times" \
  bash -c "head -2 '$T/speech.srt' | grep -qxE '1|[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3} --> [0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}' && [ \$(head -2 '$T/speech.srt' | grep -cE '^(1|[0-9:,]+ --> [0-9:,]+)$') -eq 2 ]"
expect "WebVTT starts with its header and uses hh:mm:ss.mmm" \
  bash -c "[ \"\$(head -1 '$T/speech.vtt')\" = WEBVTT ] && grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} --> ' '$T/speech.vtt'"
expect "WebVTT says which engine and model made it" grep -q "NOTE made by postkit .*engine pocketsphinx, model pocketsphinx-en-us, SHA-256 [0-9a-f]\{64\}" "$T/speech.vtt"
expect "the JSON transcript has words with start, end and confidence" \
  jqt '(.words | length) > 5 and all(.words[]; .start < .end and .confidence >= 0 and .confidence <= 1)' "$T/speech.json"
expect "the JSON names the engine, model and SHA-256" \
  jqt '.engine.name == "pocketsphinx" and .engine.model == "pocketsphinx-en-us" and (.engine.model_sha256 | length == 64)' "$T/speech.json"
expect "the provenance of the SRT records the engine and the models used" \
  jqt '.details.engine == "pocketsphinx" and ([.models[].id] | index("silero-vad") != null and index("pocketsphinx-en-us") != null)' "$T/speech.srt.postkit.json"
expect "no word is recognised outside the speech" $PY -c "
import json, sys
words = json.load(open('$T/speech.json'))['words']
truth = json.load(open('$T/truth.json'))['speech']
sys.exit(0 if all(any(t[0] - 0.1 <= w['start'] and w['end'] <= t[1] + 0.1 for t in truth) for w in words) else 1)"
expect "the text has one sentence per line (one per clip)" [ "$(wc -l <"$T/speech.txt")" -eq 3 ]
expect "subtitle lines are at most 42 characters, at most 2 per cue" \
  bash -c "! awk 'length > 42' '$T/speech.srt' | grep -q . && ! awk 'BEGIN{RS=\"\"} { if (NF && split(\$0, l, \"\\n\") > 4) print }' '$T/speech.srt' | grep -q ."
$PY "$LIB" cues "$T/speech.srt" >"$T/cues.txt"
expect "no cue starts inside a silence or spans one" $PY -c "
import json, sys
sil = json.load(open('$T/truth.json'))['silence']
cues = [tuple(map(float, l.split())) for l in open('$T/cues.txt')]
bad = [(c, s) for c in cues for s in sil if (s[0] + 0.1 < c[0] < s[1] - 0.1) or (c[0] < s[0] and c[1] > s[1])]
print('# cues', cues)
sys.exit(1 if bad or not cues else 0)"
expect "cues last 5/6 s to 7 s" $PY -c "
import sys
cues = [tuple(map(float, l.split())) for l in open('$T/cues.txt')]
sys.exit(0 if all(5/6 - 0.002 <= b - a <= 7 for a, b in cues) else 1)"
expect "the words are kept in the transcript store under the media's SHA-256" \
  [ -s "$POSTKIT_TRANSCRIPTS/$(sha256sum "$T/speech.wav" | cut -d' ' -f1).json" ]

# ---- pure silence, no audio ----
ffmpeg -loglevel error -y -f lavfi -i anullsrc=r=48000:cl=stereo -t 5 "$T/silence.wav"
run_pk transcribe "$T/silence.wav" -o "$T/silence.srt" --engine pocketsphinx --json
expect "pure silence transcribes (exit 0)" [ "$rc" -eq 0 ]
expect "... to no words and no cues" jqt '.results[0].words == 0 and .results[0].cues == 0' "$out"
expect "... and an empty SRT (nothing invented)" [ ! -s "$T/silence.srt" ]
ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=160x120:rate=10 -t 2 -pix_fmt yuv420p "$T/mute.mp4"
run_pk transcribe "$T/mute.mp4" -o "$T/mute.srt"
expect "a file without audio is an input error (exit 3)" [ "$rc" -eq 3 ]
expect "... with one line naming the file" one_line_naming "$T/mute.mp4"
run_pk vad "$T/mute.mp4"
expect "vad of a file without audio exits 3" [ "$rc" -eq 3 ]
run_pk transcribe "$T/speech.wav" -o "$T/x.doc"
expect "an unknown output extension is a usage error (exit 2)" [ "$rc" -eq 2 ]

# ---- import ----
printf '1\n00:00:01,000 --> 00:00:02,500\nHello <i>there</i>, world.\n\n2\n00:00:03,000 --> 00:00:04,000\nSecond line.\n' >"$T/in.srt"
run_pk transcribe "$T/speech.wav" --import "$T/in.srt" -o "$T/imported.vtt"
expect "--import converts SRT to WebVTT (exit 0)" [ "$rc" -eq 0 ]
expect "... keeping the cue text without markup" grep -qx "Hello there, world." "$T/imported.vtt"
expect "... and its times" grep -q "^00:00:01.000 --> " "$T/imported.vtt"
run_pk transcribe "$T/speech.wav" --import "$T/in.srt" -o "$T/imported.json"
expect "the imported transcript says so" jqt '.engine.name == "import" and .engine.model == "in.srt" and (.words | length) == 5' "$T/imported.json"

# ---- WER on the corpus, pipeline vs pocketsphinx_continuous on the whole file ----
if ! have_corpus asr; then
  skip "WER on the ASR corpus" "no $PK_CORPORA/asr"
elif ! command -v pocketsphinx_continuous >/dev/null; then
  skip "WER on the ASR corpus" "pocketsphinx_continuous missing (Debian package pocketsphinx)"
else
  # The same command that measures it for bench/RESULTS.md.
  "$PK_ROOT/scripts/asr-wer" "$(dirname "$POSTKIT")" "$T/wer" >"$T/wer.out" 2>>"$T/all.stderr"
  rc=$?
  sed 's/^/# /' "$T/wer.out"
  expect "scripts/asr-wer measures the corpus (exit 0)" [ "$rc" -eq 0 ]
  total() { awk -F'\t' -v e="$1" -v c="$2" '$1 == e { print $c }' "$T/wer/totals.tsv"; }
  expect "WER was measured on all 7 corpus files" [ "$(total pocketsphinx 2)" = 7 ]
  expect "the pipeline (VAD + 16 kHz + segments) does no worse than pocketsphinx_continuous on whole files" \
    [ "$(total pocketsphinx 4)" -le "$(total pocketsphinx_continuous 4)" ]
fi

# ---- bounded memory: a 2-hour file needs no more than a 3-minute one ----
mk_long() {  # seconds of low noise between two speech clips, as FLAC
  ffmpeg -loglevel error -y -i "$T/clip0.wav" -f lavfi -i "anoisesrc=a=0.002:r=16000:d=$1" -i "$T/clip1.wav" \
    -filter_complex '[0:a][1:a][2:a]concat=n=3:v=0:a=1' -ac 1 -ar 16000 "$2"
}
mk_long 180 "$T/short.flac"
mk_long 7200 "$T/long.flac"
# (ASan's quarantine of freed memory would grow with the run: kept small.)
rss() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0" \
          /usr/bin/time -f %M -o "$T/rss" "$POSTKIT" transcribe "$1" -o "$2" --engine pocketsphinx --no-store \
          >/dev/null 2>>"$T/all.stderr"; echo "$? $(tail -1 "$T/rss")"; }
read -r rc_s rss_s < <(rss "$T/short.flac" "$T/short.json")
read -r rc_l rss_l < <(rss "$T/long.flac" "$T/long.json")
echo "# max RSS: 3 min $rss_s KiB, 2 h $rss_l KiB"
expect "a 3-minute file transcribes (exit 0)" [ "$rc_s" -eq 0 ]
expect "a 2-hour file transcribes (exit 0)" [ "$rc_l" -eq 0 ]
expect "... finding the speech at both ends" jqt '[.words[].start] | (min < 5 and max > 7200)' "$T/long.json"
expect "... in no more memory than a 3-minute file (+15%)" [ "$rss_l" -le $((rss_s * 115 / 100)) ]

# ---- whisper.cpp: download, verify, load, decode (random weights: plumbing, not accuracy) ----
run_pk transcribe "$T/speech.wav" -o "$T/w.json" --engine whisper --model /nonexistent.bin
if grep -q "built without whisper.cpp" "$err"; then
  skip "whisper.cpp plumbing" "this build has no whisper.cpp (scripts/build-whisper)"
else
  store=$T/store srv=$T/srv
  mkdir -p "$store/silero-vad" "$srv"
  real_store=${POSTKIT_MODELS:-${XDG_DATA_HOME:-$HOME/.local/share}/postkit/models}
  cp "$real_store/silero-vad/"* "$store/silero-vad/"
  $PY "$PK_ROOT/tests/tools/make_ggml_whisper.py" "$srv/ggml-test.bin"
  sha1=$(sha1sum "$srv/ggml-test.bin" | cut -d' ' -f1)
  sha256=$(sha256sum "$srv/ggml-test.bin" | cut -d' ' -f1)
  $PY "$PK_ROOT/tests/e2e/http_server.py" "$srv" "$T/port" "$T/http.log" &
  server=$!
  trap 'kill $server 2>/dev/null' EXIT
  for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
  jq --arg u "http://127.0.0.1:$(cat "$T/port")/ggml-test.bin" --arg s "$sha1" \
    '.models = [(.models[] | select(.id == "silero-vad")), {id: "whisper-test", version: "ggml", licence: "MIT",
       purpose: "random weights for plumbing tests", default: false, format: "ggml", file: "ggml-test.bin",
       source: {kind: "url", url: $u, checksum: {algorithm: "sha1", value: $s}}}]' \
    "$PK_ROOT/models/manifest.json" >"$T/manifest.json"
  export POSTKIT_MANIFEST=$T/manifest.json POSTKIT_MODELS=$store
  run_pk models install whisper-test
  expect "whisper: the generated ggml model installs from the loopback server (exit 0)" [ "$rc" -eq 0 ]
  expect "... verified against its SHA-1 and recorded with its SHA-256" \
    jqt --arg s "$sha256" '.sha256 == $s' "$store/whisper-test/installed.json"
  run_pk transcribe "$T/speech.wav" -o "$T/w.json"
  expect "whisper: with a whisper model installed, the default engine is whisper (exit 0)" [ "$rc" -eq 0 ]
  expect "... and the transcript says so, with the model's id and SHA-256" \
    jqt --arg s "$sha256" '.engine.name == "whisper" and .engine.model == "whisper-test" and .engine.model_sha256 == $s' "$T/w.json"
  expect "... words come out of the decoder (random weights: plumbing, not accuracy)" \
    jqt '(.words | length) > 0 and all(.words[]; .start <= .end)' "$T/w.json"
  expect "... only inside the speech the VAD found" $PY -c "
import json, sys
d = json.load(open('$T/w.json'))
segs = d['speech_segments']
sys.exit(0 if all(any(s['start'] - 0.05 <= w['start'] and w['end'] <= s['end'] + 0.05 for s in segs) for w in d['words']) else 1)"
  run_pk transcribe "$T/speech.wav" -o "$T/w2.json" --engine pocketsphinx
  expect "--engine pocketsphinx still chooses PocketSphinx" jqt '.engine.name == "pocketsphinx"' "$T/w2.json"
  printf 'not a model' >"$T/bad.bin"
  run_pk transcribe "$T/speech.wav" -o "$T/w3.json" --model "$T/bad.bin"
  expect "a file that is no ggml model is an input error (exit 3) naming it" \
    bash -c "[ $rc -eq 3 ] && grep -q '$T/bad.bin' '$err'"
  printf '\x01' | dd of="$store/whisper-test/ggml-test.bin" bs=1 seek=1000 conv=notrunc status=none
  run_pk transcribe "$T/speech.wav" -o "$T/w4.json" --engine whisper
  expect "an altered whisper model is refused (exit 3)" \
    bash -c "[ $rc -eq 3 ] && grep -q 'altered or corrupt' '$err'"
  kill $server 2>/dev/null; wait $server 2>/dev/null
  unset POSTKIT_MANIFEST POSTKIT_MODELS
fi

err=$T/all.stderr
expect "no sanitizer report in any run" no_sanitizer_report
finish
