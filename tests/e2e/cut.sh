# End-to-end: editing media by deleting words from its transcript. Words
# synthesised one by one (flite) are placed at known, frame-aligned times
# under a 25 fps picture, so the expected cut is known exactly: the output's
# length, its A/V sync, the exports, the re-transcription and — with a tone
# under the speech, so every cut falls mid-waveform — the joins.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
LIB="$PK_ROOT/tests/e2e/speech_lib.py"
T=$SUITE_TMP
export POSTKIT_TRANSCRIPTS=$T/transcripts
jqt() { jq -e "$@" >/dev/null; }
run_pk() { "$POSTKIT" "$@" >"$out" 2>"$err"; rc=$?; cat "$err" >>"$T/all.stderr"; }

words=(purple elephant window yesterday orange banana river)
deleted=(elephant yesterday)
items=()
trim='silenceremove=start_periods=1:start_threshold=-50dB,areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse'
for w in "${words[@]}"; do
  flite -t "$w" -o "$T/raw_$w.wav"
  ffmpeg -loglevel error -y -i "$T/raw_$w.wav" -af "$trim" -ar 48000 -ac 1 -c:a pcm_s16le "$T/w_$w.wav"
  items+=("$w=$T/w_$w.wav")
done
$PY "$LIB" word-clip "$T/speech.wav" "$T/words.json" 48000 0 "${items[@]}"
$PY "$LIB" word-clip "$T/tone.wav" "$T/words_tone.json" 48000 210 "${items[@]}"
dur=$(jq .duration "$T/words.json")
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=25" -i "$T/speech.wav" -t "$dur" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k "$T/clip.mp4"
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=25" -i "$T/tone.wav" -t "$dur" \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a flac "$T/tone.mkv"
for w in "${words[@]}"; do
  [[ " ${deleted[*]} " == *" $w "* ]] || printf '%s ' "$w"
done >"$T/edited.txt"
echo >>"$T/edited.txt"

# The expected kept ranges, in frames: a deleted word goes with the pause
# around it except `pad` (0.08 s = 2 frames) beside each kept neighbour.
$PY - "$T/words.json" "${deleted[@]}" >"$T/expected.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); gone = set(sys.argv[2:]); fr = lambda t: round(t * 25)
w = d["words"]; keep = [x["text"] not in gone for x in w]
ranges, start = [], 0
for i, x in enumerate(w):
    if not keep[i]:
        ranges.append((start, fr(w[i - 1]["end"]) + 2))
        start = fr(w[i + 1]["start"]) - 2
ranges.append((start, fr(d["duration"])))
for a, b in ranges:
    print(a, b)
EOF
expected_frames=$(awk '{n += $2 - $1} END {print n}' "$T/expected.txt")

# ---- the cut ----
run_pk cut "$T/clip.mp4" --transcript "$T/edited.txt" --words "$T/words.json" -o "$T/cut.mp4" \
  --edl "$T/cut.edl" --fcpxml "$T/cut.fcpxml" --otio "$T/cut.otio" --json
cp "$out" "$T/cut.json"
expect "cut exits 0" [ "$rc" -eq 0 ]
jq -r '.results[0].ranges[] | "\(.start_frame) \(.end_frame)"' "$T/cut.json" >"$T/ranges.txt"
expect "the kept ranges are the expected ones, to the frame" diff -u "$T/expected.txt" "$T/ranges.txt"
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$T/cut.mp4")
echo "# expected $expected_frames frames, got $frames"
expect "the output has the expected length within one frame" [ $((frames - expected_frames)) -le 1 ] && [ $((expected_frames - frames)) -le 1 ]
ffmpeg -loglevel error -y -i "$T/cut.mp4" -map 0:a -f f32le -ac 1 "$T/cut.f32"
samples=$(( $(stat -c %s "$T/cut.f32") / 4 ))
echo "# audio $samples samples = $(echo "scale=4; $samples / 48000" | bc) s, video $(echo "scale=4; $frames / 25" | bc) s"
expect "audio and video durations are equal (within one frame)" \
  $PY -c "import sys; sys.exit(0 if abs($samples / 48000 - $frames / 25) <= 0.04 else 1)"
expect "the output is H.264 + AAC in MP4" \
  bash -c "[ \"\$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 '$T/cut.mp4' | tr '\n' ' ')\" = 'h264 aac ' ]"
expect "its provenance records the edit" jqt '.details.ranges == 3 and .details.words_deleted == 2' "$T/cut.mp4.postkit.json"

# ---- exports parse back to the same source ranges ----
for fmt in edl fcpxml otio; do
  $PY "$LIB" $fmt "$T/cut.$fmt" 25 >"$T/back.$fmt.txt" 2>"$T/back.$fmt.err"
  expect "the $fmt export parses back to the same source ranges" diff -u "$T/expected.txt" "$T/back.$fmt.txt"
done
expect "the EDL states FCM and the frame rate" bash -c "grep -qx 'FCM: NON-DROP FRAME' '$T/cut.edl' && grep -q 'FRAME RATE: 25' '$T/cut.edl'"
expect "the FCPXML is version 1.9" grep -q '<fcpxml version="1.9">' "$T/cut.fcpxml"

# ---- re-transcription: the deleted words are gone ----
"$POSTKIT" transcribe "$T/clip.mp4" -o "$T/orig.txt" --engine pocketsphinx --no-store >/dev/null 2>>"$T/all.stderr"
"$POSTKIT" transcribe "$T/cut.mp4" -o "$T/re.txt" --engine pocketsphinx --no-store >/dev/null 2>>"$T/all.stderr"
echo "# original heard as: $(tr '\n' ' ' <"$T/orig.txt")"
echo "# cut heard as: $(tr '\n' ' ' <"$T/re.txt")"
for w in "${deleted[@]}"; do
  expect "'$w' is heard in the original" grep -qiw "$w" "$T/orig.txt"
  expect "'$w' is not heard in the cut" bash -c "! grep -qiw '$w' '$T/re.txt'"
done
kept_heard=0
for w in purple window orange river; do grep -qiw "$w" "$T/re.txt" && kept_heard=$((kept_heard + 1)); done
expect "kept words are still heard in the cut ($kept_heard of 4)" [ "$kept_heard" -ge 2 ]

# ---- joins: no jump beyond what the crossfade allows ----
run_pk cut "$T/tone.mkv" --transcript "$T/edited.txt" --words "$T/words_tone.json" -o "$T/tone_cut.mkv" --json
cp "$out" "$T/tone_cut.json"
expect "cut of the toned clip exits 0 (lossless FLAC audio kept)" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(jq -r .results[0].audio_codec '$T/tone_cut.json')\" = flac ]"
run_pk cut "$T/tone.mkv" --transcript "$T/edited.txt" --words "$T/words_tone.json" -o "$T/tone_nofade.mkv" --crossfade 0
jq '[.results[0].ranges as $r | range(1; $r | length) | ([$r[:.][] | .end - .start] | add)]' "$T/tone_cut.json" >"$T/joins.json"
ffmpeg -loglevel error -y -i "$T/tone.mkv" -map 0:a -f f32le -t 0.4 "$T/lead.f32"
ffmpeg -loglevel error -y -i "$T/tone_cut.mkv" -map 0:a -f f32le "$T/tone_cut.f32"
ffmpeg -loglevel error -y -i "$T/tone_nofade.mkv" -map 0:a -f f32le "$T/tone_nofade.f32"
echo '[0.2]' >"$T/lead_t.json"
natural=$($PY "$LIB" max-jump "$T/lead.f32" 48000 "$T/lead_t.json" 0.2)
faded=$($PY "$LIB" max-jump "$T/tone_cut.f32" 48000 "$T/joins.json" 0.01)
hard=$($PY "$LIB" max-jump "$T/tone_nofade.f32" 48000 "$T/joins.json" 0.01)
echo "# largest sample step: tone alone $natural, at joins with crossfade $faded, without $hard"
expect "with the crossfade, no step at a join exceeds 1.5x the tone's own" \
  $PY -c "import sys; sys.exit(0 if $faded <= 1.5 * $natural else 1)"
expect "without it the same joins click (the check can fail)" \
  $PY -c "import sys; sys.exit(0 if $hard > 1.5 * $natural else 1)"

# ---- silence and fillers ----
run_pk cut "$T/clip.mp4" --words "$T/words.json" --remove-silence --margin 0.12 --min-pause 0.3 -o "$T/tight.mp4" --json
expect "--remove-silence exits 0" [ "$rc" -eq 0 ]
expect "... keeping each word with 0.12 s (3 frames) either side (7 ranges)" jqt '.results[0].ranges | length == 7' "$out"
want=$(jq '[.words[] | .end - .start + 0.24] | add * 25 | round' "$T/words.json")
got=$(jq '[.results[0].ranges[] | .end_frame - .start_frame] | add' "$out")
expect "... $got frames for the expected $want" [ "$got" -eq "$want" ]
run_pk cut "$T/clip.mp4" --remove-silence --margin 0.05 --min-pause 0.2 --edl "$T/vad.edl" --json
expect "--remove-silence without a transcript keeps the VAD's speech (7 words, 7 ranges)" \
  jqt '.results[0].words_from == "vad" and (.results[0].ranges | length) == 7' "$out"
run_pk cut "$T/clip.mp4" --words "$T/words.json" --remove-fillers --fillers window,river --edl "$T/f.edl" --json
expect "--remove-fillers with a word list cuts those words" \
  jqt '.results[0].fillers_removed == 2 and .results[0].words_deleted == 2' "$out"

# ---- the user edits only the text: words found in the transcript store ----
run_pk transcribe "$T/clip.mp4" -o "$T/talk.txt" --engine pocketsphinx
awk 'NR == 1 { $NF = ""; print; next } { print }' "$T/talk.txt" >"$T/talk-edited.txt"
run_pk cut "$T/clip.mp4" --transcript "$T/talk-edited.txt" -o "$T/talk-cut.mp4" --json
expect "cut finds the words from the media alone (transcript store) (exit 0)" [ "$rc" -eq 0 ]
expect "... and removes the deleted word" jqt '.results[0].words_deleted == 1 and .results[0].output_duration < .results[0].input_duration' "$out"

# ---- bad edits ----
printf 'purple window\nyesterday giraffe orange river\n' >"$T/bad.txt"
run_pk cut "$T/clip.mp4" --transcript "$T/bad.txt" --words "$T/words.json" -o "$T/bad.mp4"
expect "a word that is not in the original is an input error (exit 3)" [ "$rc" -eq 3 ]
expect "... in one line naming the file, the line and the word" \
  bash -c "one_line() { [ \$(wc -l <'$err') -eq 1 ]; }; one_line && grep -q \"$T/bad.txt: line 2: 'giraffe' is not in the original\" '$err'"
expect "... and nothing is written" [ ! -e "$T/bad.mp4" ]
run_pk cut "$T/clip.mp4" --transcript "$T/edited.txt" -o "$T/nowords.mp4" --words "$T/clip.mp4"
expect "--words that is no transcript is an input error (exit 3)" [ "$rc" -eq 3 ]
jq '.words[].start += 100 | .words[].end += 100' "$T/words.json" >"$T/other.json"
run_pk cut "$T/clip.mp4" --transcript "$T/edited.txt" --words "$T/other.json" -o "$T/other.mp4"
expect "a transcript of another (longer) file is refused (exit 3)" \
  bash -c "[ $rc -eq 3 ] && grep -q 'does not belong to this file' '$err'"
run_pk cut "$T/clip.mp4" -o "$T/nothing.mp4" --words "$T/words.json"
expect "nothing to cut is a usage error (exit 2)" [ "$rc" -eq 2 ]

err=$T/all.stderr
expect "no sanitizer report in any run" no_sanitizer_report
finish
