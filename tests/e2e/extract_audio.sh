#!/usr/bin/env bash
# End-to-end: `postkit extract-audio` keeps the source's format, refuses
# what it cannot do with the documented exit codes, and never leaves a
# partial output.
. "$(dirname "$0")/lib.sh"
d=$SUITE_TMP
ff() { ffmpeg -nostdin -v error -y "$@"; }
# probe FILE ENTRIES — ffprobe's values for the audio stream, comma-separated
probe() { ffprobe -v error -select_streams a:0 -show_entries "$2" -of csv=p=0 "$1"; }
# md5 of the decoded samples at 32 bits, as another decoder sees them
pcm_md5() { ffmpeg -nostdin -v error -i "$1" -map 0:a -c:a pcm_s32le -f md5 -; }
json_field() { jq -r ".results[0].$1" "$out"; }
jq_true() { jq -e "$1" "$2" >/dev/null; }

ff -f lavfi -i "anoisesrc=r=96000:d=1:a=0.4" -ac 2 -c:a pcm_s24le -metadata title="Room tone" "$d/s24.wav"
ff -f lavfi -i "sine=r=48000:d=1" -af "pan=5.1(side)|FL=c0|FR=c0|FC=c0|LFE=c0|SL=c0|SR=c0" -c:a flac "$d/a51.flac"
ff -f lavfi -i "sine=r=44100:d=2" -ac 2 -c:a libmp3lame "$d/song.mp3"
ff -f lavfi -i "testsrc2=s=160x120:r=25:d=2" -f lavfi -i "sine=r=48000:d=2" -ac 2 -c:v libx264 -c:a aac "$d/clip.mp4"
ff -f lavfi -i "sine=r=48000:d=1" -c:a pcm_f32le "$d/float.wav"
head -c 20000 "$d/clip.mp4" >"$d/truncated.mp4"
echo "not audio at all" >"$d/notes.wav"

run_pk extract-audio "$d/s24.wav" -o "$d/o24.wav"
expect "24-bit 96 kHz WAV extracts with exit 0" [ "$rc" -eq 0 ]
expect "format kept: pcm_s24le, 96000 Hz, 2 channels" [ "$(probe "$d/o24.wav" stream=codec_name,sample_rate,channels)" = "pcm_s24le,96000,2" ]
expect "samples bit-identical to the source" [ "$(pcm_md5 "$d/s24.wav")" = "$(pcm_md5 "$d/o24.wav")" ]
expect "title tag kept" [ "$(ffprobe -v error -show_entries format_tags=title -of csv=p=0 "$d/o24.wav")" = "Room tone" ]
expect "provenance sidecar written" jq_true '.details.clipped_samples == 0 and .details.dither == "none"' "$d/o24.wav.postkit.json"
expect "no sanitizer report" no_sanitizer_report

run_pk extract-audio --json "$d/s24.wav" -o "$d/o16.wav" --bits 16
expect "--bits 16 writes pcm_s16le" [ "$(probe "$d/o16.wav" stream=codec_name)" = "pcm_s16le" ]
expect "reducing 24 to 16 bits dithers" [ "$(json_field dithered)" = "true" ]
expect "the record counts every sample" [ "$(json_field samples)" = "96000" ]

run_pk extract-audio --json "$d/a51.flac" -o "$d/o51.wav"
expect "5.1 extracts with exit 0" [ "$rc" -eq 0 ]
expect "5.1(side) layout kept in WAV" [ "$(probe "$d/o51.wav" stream=channels,channel_layout)" = "6,5.1(side)" ]
expect "16-bit source stays 16-bit, undithered" [ "$(probe "$d/o51.wav" stream=codec_name),$(json_field dithered)" = "pcm_s16le,false" ]
run_pk extract-audio "$d/a51.flac" -o "$d/o51.flac"
expect "5.1(side) layout kept in FLAC" [ "$(probe "$d/o51.flac" stream=channels,channel_layout)" = "6,5.1(side)" ]

run_pk extract-audio --json "$d/song.mp3" -o "$d/song.flac"
expect "lossy source becomes 24-bit FLAC at its rate" [ "$(probe "$d/song.flac" stream=sample_rate,bits_per_raw_sample)" = "44100,24" ]
expect "MP3 decodes to its exact length (gapless)" [ "$(json_field samples)" = "88200" ]

run_pk extract-audio --json "$d/clip.mp4" -o "$d/clip.wav" --rate 22050 --channels 1
expect "--rate/--channels resample and downmix" [ "$(probe "$d/clip.wav" stream=sample_rate,channels)" = "22050,1" ]
n=$(json_field samples)
expect "resampled length follows the duration (44100 +- 2)" [ "$n" -ge 44098 ] && [ "$n" -le 44102 ]

run_pk extract-audio "$d/float.wav" -o "$d/f.wav"
expect "float WAV stays float" [ "$(probe "$d/f.wav" stream=codec_name)" = "pcm_f32le" ]
run_pk extract-audio "$d/float.wav" -o "$d/f.flac"
expect "float source to FLAC is 24-bit" [ "$(probe "$d/f.flac" stream=bits_per_raw_sample)" = "24" ]

run_pk extract-audio "$d/truncated.mp4" -o "$d/t.wav"
expect "truncated input: exit 3" [ "$rc" -eq 3 ]
expect "truncated input: one line naming the file" one_line_naming "truncated.mp4"
expect "truncated input: no output" [ ! -e "$d/t.wav" ]
run_pk extract-audio "$d/notes.wav" -o "$d/n.wav"
expect "non-media input: exit 3" [ "$rc" -eq 3 ]
expect "non-media input: no output, no temporary" [ -z "$(ls -A "$d" | grep -E '^n\.wav|postkit-tmp')" ]

before=$(md5sum <"$d/o24.wav")
run_pk extract-audio "$d/a51.flac" -o "$d/o24.wav"
expect "existing output without --force: exit 4" [ "$rc" -eq 4 ]
expect "existing output left untouched" [ "$(md5sum <"$d/o24.wav")" = "$before" ]
run_pk extract-audio --force "$d/a51.flac" -o "$d/o24.wav"
expect "--force replaces it" [ "$rc" -eq 0 ] && [ "$(probe "$d/o24.wav" stream=channels)" = "6" ]

run_pk extract-audio "$d/s24.wav" -o "$d/x.mp3"
expect "unsupported output extension: exit 2" [ "$rc" -eq 2 ]
run_pk extract-audio "$d/s24.wav" -o "$d/x.wav" --float --bits 16
expect "--float with --bits 16: exit 2" [ "$rc" -eq 2 ]
run_pk extract-audio "$d/s24.wav" -o "$d/x.flac" --bits 32
expect "32-bit FLAC: exit 2" [ "$rc" -eq 2 ]
expect "refused runs wrote nothing" [ -z "$(ls -A "$d" | grep -E '^x\.|postkit-tmp')" ]
expect "no sanitizer report" no_sanitizer_report
finish
