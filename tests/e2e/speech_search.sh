# End-to-end: transcripts in the catalogue — `postkit transcribe` of a
# catalogued file stores its sentences, `postkit search` finds a spoken phrase
# and shows the file with the sentence's time; words not spoken (or not in
# that order) find nothing; filters apply; files outside the catalogue, no
# catalogue and --no-store store nothing; a file transcribed before it is
# catalogued gets its transcript from `index`.
. "$(dirname "$0")/lib.sh"

T=$SUITE_TMP
export POSTKIT_TRANSCRIPTS=$T/transcripts
export POSTKIT_CATALOG=$T/catalog.db
jqt() { jq -e "$@" >/dev/null; }

# A video whose speech starts at 2 s (flite), a tone beside it, another
# tone outside the catalogued folder (a copy would be the same content).
mkdir -p "$T/media" "$T/elsewhere"
flite -t "my fellow americans ask not what your country can do for you" -o "$T/raw.wav"
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=25" \
  -f lavfi -t 2 -i "anullsrc=r=16000:cl=mono" -i "$T/raw.wav" \
  -filter_complex "[1][2]concat=n=2:v=0:a=1[a]" -map 0:v -map "[a]" -shortest \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "$T/media/address.mp4"
ffmpeg -loglevel error -y -f lavfi -i "sine=frequency=440:duration=3" "$T/media/tone.wav"
ffmpeg -loglevel error -y -f lavfi -i "sine=frequency=550:duration=3" "$T/elsewhere/outside.wav"
printf '1\n00:00:01,000 --> 00:00:02,500\nThe harbour lights are green tonight.\n' >"$T/subs.srt"

run_pk index "$T/media"
expect "index of the folder exits 0" [ "$rc" -eq 0 ]

run_pk transcribe "$T/media/address.mp4" -o "$T/address.txt" --engine pocketsphinx --json
expect "transcribe of a catalogued video exits 0" [ "$rc" -eq 0 ]
expect "... and says its sentences went into the catalogue" jqt '.results[0].catalogued == true' "$out"
echo "# transcript: $(cat "$T/address.txt")"

run_pk search '"fellow americans"' --json
expect "search for a spoken phrase exits 0" [ "$rc" -eq 0 ]
cp "$out" "$T/found.json"
expect "... finds the video, only it" \
  jqt '(.results | length) == 1 and (.results[0].path | endswith("/media/address.mp4"))' "$T/found.json"
expect "... with the sentence holding the phrase" \
  jqt '.results[0].transcript_matches == 1 and (.results[0].transcript[0].text | ascii_downcase | contains("fellow americans"))' "$T/found.json"
expect "... timed where the speech starts (2 s, within 0.5 s) and ending after it" \
  jqt '.results[0].transcript[0] | (.start - 2 | fabs) < 0.5 and .end > .start + 1' "$T/found.json"
run_pk search '"fellow americans"'
expect "the human output shows the file, its type and the sentence's timecode" \
  grep -qE '/media/address\.mp4  \[video 320x240 [0-9.]+s\]  00:00:0[12]\.[0-9] ".*[Ff]ellow americans' "$out"

run_pk search '"americans fellow"' --json
expect "the same words in another order find nothing (a phrase)" jqt '.results == []' "$out"
run_pk search elephants --json
expect "a word not spoken finds nothing" jqt '.results == []' "$out"
run_pk search 'type:audio "fellow americans"' --json
expect "a filter the file fails leaves it out" jqt '.results == []' "$out"
run_pk search 'type:video country' --json
expect "a filter it passes keeps it" jqt '(.results | length) == 1 and .results[0].transcript_matches == 1' "$out"
run_pk search tone --json
expect "a search matching only names lists no sentence" \
  jqt '(.results | length) == 1 and (.results[0] | has("transcript") | not)' "$out"

# Stored transcripts replace the earlier one; subtitles imported count too.
run_pk transcribe "$T/media/address.mp4" --import "$T/subs.srt" -o "$T/imported.txt" --json
expect "an imported transcript of the same file is catalogued" jqt '.results[0].catalogued == true' "$out"
run_pk search '"harbour lights"' --json
expect "... and found at its time" \
  jqt '(.results | length) == 1 and .results[0].transcript[0].start == 1' "$out"
run_pk search '"fellow americans"' --json
expect "... replacing the recognised one" jqt '.results == []' "$out"

# Nothing stored where nothing should be.
run_pk transcribe "$T/media/tone.wav" --import "$T/subs.srt" -o "$T/n.txt" --no-store --json
expect "--no-store leaves the catalogue alone" \
  jqt '.results[0].catalogued == false' "$out"
run_pk search '"harbour lights"' --json
expect "... (the tone is still not found by those words)" \
  jqt '(.results | length) == 1 and (.results[0].path | endswith("/media/address.mp4"))' "$out"
run_pk transcribe "$T/elsewhere/outside.wav" --import "$T/subs.srt" -o "$T/o.txt" --json
expect "a file the catalogue does not hold transcribes, not catalogued" \
  jqt '.results[0].catalogued == false' "$out"
run_pk transcribe "$T/media/tone.wav" --import "$T/subs.srt" -o "$T/x.txt" --catalog "$T/none.db" --json
expect "no catalogue at all: transcribe exits 0, stores nothing" \
  bash -c "[ $rc -eq 0 ] && jq -e '.results[0].catalogued == false' '$out' >/dev/null && [ ! -e '$T/none.db' ]"

# Transcribed before it was catalogued: `index` puts the stored transcript
# in the catalogue (no decoding again), once, and keeps it once when the
# file moves; a stored transcript that cannot be read is only a warning.
late=$T/late.db
mkdir -p "$T/later"
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=160x120:rate=25" \
  -f lavfi -t 2 -i "anullsrc=r=16000:cl=mono" -i "$T/raw.wav" \
  -filter_complex "[1][2]concat=n=2:v=0:a=1[a]" -map 0:v -map "[a]" -shortest \
  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "$T/later/speech.mp4"
run_pk transcribe "$T/later/speech.mp4" -o "$T/later.txt" --engine pocketsphinx --catalog "$late" --json
expect "a file transcribed before any catalogue holds it" \
  bash -c "[ $rc -eq 0 ] && jq -e '.results[0].catalogued == false' '$out' >/dev/null && [ ! -e '$late' ]"
echo "# transcript: $(cat "$T/later.txt")"
run_pk index "$T/later" --catalog "$late" --json
expect "index picks up its stored transcript" jqt '.results[0].transcripts == 1 and .results[0].added == 1' "$out"
run_pk search '"fellow americans"' --catalog "$late" --json
cp "$out" "$T/late.json"
expect "... and search finds the file by a spoken phrase" \
  jqt '(.results | length) == 1 and (.results[0].path | endswith("/later/speech.mp4"))' "$T/late.json"
expect "... at its timecode (speech at 2 s, within 0.5 s)" \
  jqt '.results[0].transcript[0] | (.start - 2 | fabs) < 0.5 and .end > .start + 1' "$T/late.json"
matches=$(jq '.results[0].transcript_matches' "$T/late.json")
run_pk search '"fellow americans"' --catalog "$late"
expect "... the human output with the timecode" \
  grep -qE '/later/speech\.mp4  \[video 160x120 [0-9.]+s\]  00:00:0[12]\.[0-9] ".*[Ff]ellow americans' "$out"
run_pk index "$T/later" --catalog "$late" --json
expect "a re-index of the unchanged folder reads nothing again" \
  jqt '.results[0].transcripts == 0 and .results[0].unchanged == 1' "$out"
mkdir -p "$T/later/moved"
mv "$T/later/speech.mp4" "$T/later/moved/"
run_pk index "$T/later" --catalog "$late" --json
expect "a moved file is read again and its transcript put again" \
  jqt '.results[0].moved == 1 and .results[0].transcripts == 1' "$out"
run_pk search '"fellow americans"' --catalog "$late" --json
expect "... replacing, not adding: the same sentences, once" \
  jqt --argjson n "$matches" '(.results | length) == 1 and .results[0].transcript_matches == $n and (.results[0].path | endswith("/moved/speech.mp4"))' "$out"
sha=$(sha256sum "$T/media/tone.wav" | cut -d' ' -f1)
echo "{broken" >"$POSTKIT_TRANSCRIPTS/$sha.json"
cp "$T/media/tone.wav" "$T/later/tone.wav"
run_pk index "$T/later" --catalog "$late" --json
expect "a stored transcript that is not JSON: index warns, indexes the file, exits 0" \
  bash -c "[ $rc -eq 0 ] && jq -e '.results[0].added == 1 and .results[0].transcripts == 0' '$out' >/dev/null && grep -q 'stored transcript is not JSON' '$err'"
expect "no sanitizer report" no_sanitizer_report

finish
