#!/usr/bin/env bash
# End-to-end: `postkit qc` on real clips with faults spliced in at known
# frames and times (black frames, a frozen run, a one-frame shot from
# another film, 10 Hz flashing, a stuck white pixel, clipped audio, a
# silent channel, 3 s of silence): each found within one frame (10 ms for
# audio), nothing found where nothing was planted, the odd inputs (audio
# only, video only, 10-bit, variable frame rate, interlaced, damaged)
# handled, exit codes, profiles and the HTML report.
. "$(dirname "$0")/lib.sh"
d=$SUITE_TMP
C=$PK_CORPORA
ff() { ffmpeg -nostdin -v error -y "$@"; }
# ev TYPE JQ — a field of the first event of TYPE in the last --json output
ev() { jq -r "[.results[0].events[] | select(.type == \"$1\")][0] | $2" "$out"; }
nev() { jq -r "[.results[0].events[] | select(.type == \"$1\")] | length" "$out"; }
jqt() { jq -e "$@" >/dev/null; }
types() { jq -r '[.results[0].events[].type] | unique | join(",")' "$out"; }
rule() { jq -r ".results[0].rules[] | select(.rule == \"$1\") | .verdict" "$out"; }
# near VALUE EXPECTED TOLERANCE
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "null" && a != "" && d <= t + 1e-9) }'; }
# frames_at TYPE FIRST LAST — the first event of TYPE spans FIRST..LAST, +-1 frame
frames_at() { near "$(ev "$1" .start_frame)" "$2" 1 && near "$(ev "$1" .end_frame)" "$3" 1; }
# times_at TYPE START END TOL — the first event of TYPE runs START..END, +-TOL s
times_at() { near "$(ev "$1" .start)" "$2" "$4" && near "$(ev "$1" .end)" "$3" "$4"; }

if ! have_corpus video_qc || ! have_corpus asr/whisper_jfk; then
    skip "QC on real clips" "needs \$PK_CORPORA/video_qc and asr/whisper_jfk (not present)"
    finish
    exit 0
fi
V=$C/video_qc

# ---- fixtures ---------------------------------------------------------------
# The fault file: cockatoo.mp4 (1280x720, 20 fps, 280 frames) with
#   frames 40-59 black; 80-139 frozen on frame 80; frame 200 a frame of
#   Megamind.avi (a one-frame shot); 220-239 white/black alternating every
#   frame (10 Hz); a white pixel at x=448 y=112 throughout;
# and as audio real speech (jfk.mp3, twice, 48 kHz stereo, the right
# channel 5 samples late) with 5.00-5.05 s amplified 60 dB (clipped),
# the right channel silent 7.0-9.5 s and both silent 10.5-13.5 s.
ff -i "$V/Megamind.avi" -vf "select='eq(n\,100)',scale=1280:720" -frames:v 1 "$d/flash.png"
ff -i "$V/cockatoo.mp4" -i "$d/flash.png" -filter_complex "
[1:v]format=yuv444p,setsar=1[fl];
[0:v]setsar=1,split=2[a][c];[a]trim=end_frame=200[a1];[c]trim=start_frame=201[c1];
[a1][fl][c1]concat=n=3,setpts=N/20/TB,split[s0][s1];[s0][s1]freezeframes=first=80:last=139:replace=80,
drawbox=enable='between(n\,40\,59)':color=black:t=fill,
drawbox=enable='between(n\,220\,239)*eq(mod(n\,2)\,0)':color=white:t=fill,
drawbox=enable='between(n\,220\,239)*eq(mod(n\,2)\,1)':color=black:t=fill,
drawbox=x=448:y=112:w=1:h=1:color=white:t=fill,format=yuv420p[v]" \
    -map "[v]" -c:v libx264 -preset veryfast -crf 16 "$d/v.mkv"
J=$C/asr/whisper_jfk/jfk.mp3
ff -i "$J" -i "$J" -filter_complex "[0:a][1:a]concat=n=2:v=0:a=1,aresample=48000,atrim=0:14,asetpts=N/SR/TB,
pan=stereo|c0=c0|c1=c0,adelay=0|5,
aeval='if(between(t\,10.5\,13.5)\,0\,val(0)*if(between(t\,5\,5.05)\,1000\,1))|if(between(t\,7\,9.5)+between(t\,10.5\,13.5)\,0\,val(1))':c=same[a]" \
    -map "[a]" -c:a pcm_s16le "$d/a.wav"
ff -i "$d/v.mkv" -i "$d/a.wav" -c copy "$d/faults.mov"
# Smaller variants of the clip for the other cases.
small="scale=640:360"
ff -i "$V/cockatoo.mp4" -an -vf "$small,drawbox=enable='between(n\,100\,159)*lt(mod(n-100\,10)\,5)':color=white:t=fill,drawbox=enable='between(n\,100\,159)*gte(mod(n-100\,10)\,5)':color=black:t=fill,format=yuv420p" -c:v libx264 -preset veryfast -crf 18 "$d/flash2hz.mkv"
ff -i "$V/cockatoo.mp4" -an -vf "$small,drawbox=enable='between(n\,100\,139)*eq(mod(n\,2)\,0)':color=white:t=fill,drawbox=enable='between(n\,100\,139)*eq(mod(n\,2)\,1)':color=black:t=fill,format=yuv420p" -c:v libx264 -preset veryfast -crf 18 "$d/flash10hz.mkv"
ff -i "$V/cockatoo.mp4" -an -vf "$small,drawbox=enable='between(n\,40\,59)':color=black:t=fill,format=yuv420p10le" -c:v libx264 -preset veryfast -crf 18 "$d/b10.mkv"
ff -i "$V/cockatoo.mp4" -an -vf "$small,drawbox=enable='between(n\,40\,59)':color=black:t=fill,format=yuv420p" -c:v libx264 -preset veryfast -crf 18 -flags +ildct+ilme -x264opts tff=1 "$d/interlaced.mkv"
# Variable frame rate: 20 fps for 7 s, then 10 fps; black frames 160-179 sit at 9-11 s.
ff -i "$V/cockatoo.mp4" -an -vf "$small,drawbox=enable='between(n\,160\,179)':color=black:t=fill,setpts='if(lt(N\,140)\,N/20\,7+(N-140)/10)/TB',format=yuv420p" -fps_mode passthrough -c:v libx264 -preset veryfast -crf 18 "$d/vfr.mkv"
# Damaged: an MPEG-TS with 30 kB of noise written over its middle (about 6 s);
# black frames 220-239 (11-12 s) after it.
ff -i "$V/cockatoo.mp4" -i "$d/a.wav" -vf "$small,drawbox=enable='between(n\,220\,239)':color=black:t=fill,format=yuv420p" -c:v libx264 -preset veryfast -crf 18 -g 20 -c:a aac -b:a 128k -f mpegts "$d/damaged.ts"
size=$(stat -c %s "$d/damaged.ts")
head -c 30000 /dev/urandom | dd of="$d/damaged.ts" bs=1 seek=$((size * 45 / 100)) conv=notrunc 2>/dev/null
echo "no media here" >"$d/notes.mov"

# ---- the fault file -------------------------------------------------------------
run_pk qc --json --cuts "$d/faults.mov" --report "$d/report.html"
expect "fault file: exit 1 (fails)" [ "$rc" -eq 1 ]
expect "fault file: verdict fail" [ "$(jq -r '.results[0].verdict' "$out")" = fail ]
expect "black found at frames 40-59" frames_at black 40 59
expect "black timecode 00:00:02:00 at 20 fps" [ "$(ev black .start_tc)" = "00:00:02:00" ]
expect "freeze found at frames 80-139" frames_at freeze 80 139
expect "freeze: the re-encoded copies differ by less than the -60 dB noise" jqt '[.results[0].events[] | select(.type == "freeze")][0].values | (.max_difference_db == null or .max_difference_db <= -60)' "$out"
expect "one flash frame, at frame 200" frames_at flash_frame 200 200
expect "the flash frame is a one-frame shot, the only one" [ "$(nev flash_frame),$(ev flash_frame .values.frames)" = "1,1" ]
expect "10 Hz flashing found at frames 220-239" frames_at flashing 220 239
expect "flashing fails the photosensitivity rule" [ "$(rule photosensitivity)" = fail ]
expect "10 Hz measured as 10 flashes per second" near "$(ev flashing .values.max_flashes_per_second)" 10 0.5
expect "stuck white pixel at x=448 y=112" [ "$(ev hot_pixel '"\(.values.x),\(.values.y)"')" = "448,112" ]
expect "clipping found at 5.000 s (+-10 ms)" near "$(ev clipping .start)" 5.0 0.01
expect "silent right channel 7.0-9.5 s (+-10 ms)" times_at channel_silence 7.0 9.5 0.01
expect "the silent channel is FR" [ "$(ev channel_silence .values.channel)" = FR ]
expect "3 s of silence at 10.5-13.5 s (+-10 ms)" times_at silence 10.5 13.5 0.01
expect "nothing else reported" [ "$(types)" = "black,channel_silence,clipping,flash_frame,flashing,freeze,hot_pixel,silence" ]
expect "cut list has the black and flash cuts" jqt '[.results[0].cuts[].frame] | (index(40) != null) and (index(60) != null) and (index(200) != null) and (index(201) != null)' "$out"
expect "every event has timecodes and a severity" jqt '[.results[0].events[] | (.start_tc | test("^[0-9]{2}:[0-9]{2}:[0-9]{2}[:;][0-9]{2}$")) and (.severity == "error")] | all' "$out"
expect "loudness measured (BS.1770) and judged" jqt '(.results[0].loudness.integrated | type == "number") and ([.results[0].rules[] | select(.rule == "loudness")][0].measured.target == -23)' "$out"
expect "--json leaves thumbnails out" jqt '[.results[0].events[] | has("thumbnail")] | any | not' "$out"
expect "report written" [ -s "$d/report.html" ]
expect "report has the timeline and thumbnails inline" sh -c "grep -q '<svg' '$d/report.html' && grep -q 'src=\"data:image/jpeg;base64,' '$d/report.html'"
expect "report needs no network (no script, no remote src/href)" sh -c "! grep -qiE '<script|src=\"https?:|href=|@import|url\\(' '$d/report.html'"
expect "report lists every rule" sh -c "[ \$(grep -c '<tr><td>' '$d/report.html') -ge 18 ]"
expect "no sanitizer report" no_sanitizer_report

run_pk qc "$d/b10.mkv"
expect "human view: FAIL and the timecoded events" sh -c "grep -q 'b10.mkv: FAIL' '$out' && grep -q '00:00:02:00-00:00:03:00' '$out'"

# ---- photosensitivity: 10 Hz fails, 2 Hz passes -----------------------------------------
run_pk qc --json "$d/flash10hz.mkv"
expect "10 Hz full-frame flashing fails" [ "$(rule photosensitivity)" = fail ]
expect "10 Hz: flashing from frame 100" near "$(ev flashing .start_frame)" 100 1
run_pk qc --json "$d/flash2hz.mkv"
expect "2 Hz full-frame flashing passes" [ "$(rule photosensitivity)" = pass ]
expect "2 Hz: at most 3 flashes in any second" jqt '.results[0].video.max_flashes_per_second <= 3' "$out"
expect "2 Hz: white and black fields are not freezes or repeats" [ "$(types)" = "" ]

# ---- the unmodified clips -------------------------------------------------------------
run_pk qc --json "$V/realshort.mp4"
expect "realshort.mp4: no event" [ "$(types)" = "" ]
run_pk qc --json "$V/cockatoo.mp4"
expect "cockatoo.mp4: no video event" [ "$(jq -r '[.results[0].events[] | select(.rule as $r | ["black","black_edges","freeze","repeated_frames","flash_frames","photosensitivity","dead_pixels","broadcast_range"] | index($r))] | length' "$out")" = 0 ]
# Its audio track is digital silence from start to end (peak -inf dBFS): that is found, and only that.
expect "cockatoo.mp4: its all-silent audio track is the only event" [ "$(types)" = silence ]
run_pk qc --json --cuts "$V/Megamind.avi"
expect "Megamind.avi: first frame reported as black slate" [ "$(ev black_slate '"\(.start_frame)-\(.end_frame)"')" = "0-0" ]
expect "Megamind.avi: slate time as ffmpeg blackdetect (0.0417-0.0834)" times_at black_slate 0.0417 0.0834 0.001
# The cuts ffmpeg 5.1's scdet found (reference file), within one frame.
expect "Megamind.avi: cuts as ffmpeg scdet (0.083, 4.129, 6.465, 8.383 s)" jqt '[.results[0].cuts[].time] as $c | [0.0834, 4.1291, 6.4648, 8.3834] | map(. as $r | $c | map(. - $r | fabs < 0.042) | any) | all' "$out"
expect "Megamind.avi: no other video event" [ "$(jq -r '[.results[0].events[] | select(.rule as $r | ["black","freeze","repeated_frames","flash_frames","photosensitivity","dead_pixels"] | index($r))] | length' "$out")" = 0 ]
# Broadcast range, when a profile asks: realshort.mp4 has superwhites (up to
# code 255) in about a tenth of its picture.
echo '{"extends": "ebu-r128", "broadcast_range": {"severity": "error"}}' >"$d/r103.json"
run_pk qc --json --profile "$d/r103.json" "$V/realshort.mp4"
expect "broadcast range on request: realshort's superwhites found" jqt '[.results[0].events[] | select(.type == "out_of_range")][0] | .values.max_luma_outside > 0.05 and .start_frame == 0' "$out"
expect "broadcast range fails the rule" [ "$(rule broadcast_range)" = fail ]
# freezedetect=n=-60dB:d=0.5 on tree.avi (reference file): eight held frames.
echo '{"extends": "streaming", "freeze": {"min_duration": 0.5}}' >"$d/freeze05.json"
run_pk qc --json --profile "$d/freeze05.json" "$V/tree.avi"
expect "tree.avi: the 8 freezes of ffmpeg freezedetect, starts within 1 frame" jqt '[.results[0].events[] | select(.type == "freeze") | .start] as $s | ($s | length) == 8 and ([0, 6.33337, 12.6001, 14.1334, 19.4668, 23.5335, 25.0001, 26.4001] | to_entries | map(($s[.key] - .value) | fabs < 0.067) | all)' "$out"
expect "tree.avi: ends as freezedetect's" jqt '[.results[0].events[] | select(.type == "freeze") | .end] as $e | [0.733337, 7.00004, 13.2667, 14.6667, 20.1334, 24.0668, 25.5335, 26.9335] | to_entries | map(($e[.key] - .value) | fabs < 0.067) | all' "$out"

# ---- other kinds of input ------------------------------------------------------------
run_pk qc --json "$d/a.wav"
expect "audio only: audio faults found" [ "$(types)" = "channel_silence,clipping,silence" ]
expect "audio only: video rules skipped and said so" jqt '([.results[0].rules[] | select(.rule == "black")][0].verdict == "skipped") and (.results[0].notes | index("no video stream: video rules skipped") != null)' "$out"
run_pk qc --json "$d/v.mkv"
expect "video only: video faults found" [ "$(types)" = "black,flash_frame,flashing,freeze,hot_pixel" ]
expect "video only: audio rules skipped" jqt '[.results[0].rules[] | select(.rule == "loudness")][0].verdict == "skipped"' "$out"
run_pk qc --json "$d/b10.mkv"
expect "10-bit: read as 10-bit" jqt '.results[0].streams.video.bit_depth == 10' "$out"
expect "10-bit: black frames 40-59 (levels shifted, not rescaled)" [ "$(ev black '"\(.start_frame)-\(.end_frame)"')" = "40-59" ]
run_pk qc --json "$d/interlaced.mkv"
expect "interlaced: scan type reported" jqt '.results[0].streams.video.scan == "interlaced"' "$out"
expect "interlaced: black frames 40-59" [ "$(ev black '"\(.start_frame)-\(.end_frame)"')" = "40-59" ]
run_pk qc --json "$d/vfr.mkv"
expect "VFR: flagged variable" jqt '.results[0].streams.video.variable_frame_rate' "$out"
expect "VFR: black at 9.0-11.0 s by timestamps" times_at black 9.0 11.0 0.001
expect "VFR: black frames 160-179" frames_at black 160 179
run_pk qc --json "$d/damaged.ts"
expect "damaged: still analysed (exit 1, not 3)" [ "$rc" -eq 1 ]
expect "damaged: decode errors are events with timecodes" jqt '[.results[0].events[] | select(.type == "decode_error")] | length > 0 and (.[0].start_tc | test("^00:00:0[4-9]"))' "$out"
expect "damaged: analysis went on (black at 11 s after the damage)" near "$(ev black .start)" 11.0 0.06

# ---- exit codes, profiles ----------------------------------------------------------------
run_pk qc "$d/notes.mov"
expect "unreadable file: exit 3" [ "$rc" -eq 3 ]
expect "unreadable file: one line naming it" one_line_naming "notes.mov"
run_pk qc "$d/notes.mov" "$d/faults.mov"
expect "unreadable and failing: the worst (3) wins" [ "$rc" -eq 3 ]
echo '{"extends": "streaming", "loudness": {"severity": "off"}, "true_peak": {"severity": "off"}, "stream": {"severity": "off"}}' >"$d/lenient.json"
run_pk qc --json --profile "$d/lenient.json" "$V/realshort.mp4"
expect "a clean file under a profile it meets: exit 0, pass" [ "$rc,$(jq -r '.results[0].verdict' "$out")" = "0,pass" ]
echo '{"extends": "atsc-a85", "black": {"min_duration": 2}}' >"$d/long_black.json"
run_pk qc --json --profile "$d/long_black.json" "$d/b10.mkv"
expect "custom profile overrides a threshold (1 s black no longer reported)" [ "$(nev black)" = 0 ]
expect "custom profile keeps its base (ATSC: -24 LKFS, -2 dBTP)" jqt '[.results[0].rules[] | select(.rule == "loudness" or .rule == "true_peak") | .thresholds | .target // .max] == [-24, -2]' "$out"
echo '{"black": {"min_durration": 2}}' >"$d/typo.json"
run_pk qc --profile "$d/typo.json" "$d/faults.mov"
expect "unknown threshold: usage error naming it" sh -c "[ $rc -eq 2 ] && grep -q 'black.min_durration' '$err'"
run_pk qc --profile nonsense "$d/faults.mov"
expect "unknown profile name: exit 2" [ "$rc" -eq 2 ]
for p in ebu-r128 atsc-a85 streaming podcast youtube; do
    run_pk qc --show-profile --json --profile $p
    expect "built-in profile $p loads" jqt '.results[0].name != null and .results[0].black.severity == "error"' "$out"
done
run_pk qc --show-profile --profile podcast
expect "podcast: -16 LUFS, -19 for mono" sh -c "grep -q 'target=-16' '$out' && grep -q 'target_mono=-19' '$out'"
run_pk qc "$d/faults.mov" --report "$d/report.html"
expect "existing report not replaced without --force (exit 4)" [ "$rc" -eq 4 ]
expect "no sanitizer report" no_sanitizer_report
finish
