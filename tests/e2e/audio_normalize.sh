#!/usr/bin/env bash
# End-to-end: `postkit normalize` round trips. Every preset at 44.1, 48 and
# 96 kHz in mono, stereo and 5.1 on generated music-like signals, and every
# preset on real speech; each output is measured again with `postkit
# loudness`: within +-0.2 LU of the target with linear gain, +-0.5 LU when
# the limiter ran, true peak at or under the limit; format kept. Then the
# promises: video copied untouched, tags kept, album gain, silence refused.
. "$(dirname "$0")/lib.sh"
T=$SUITE_TMP

within() { awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { exit !(v != "null" && v >= w - t - 1e-9 && v <= w + t + 1e-9) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "null" && a <= b + 1e-9) }'; }
probe() { ffprobe -v error -select_streams a:0 -show_entries "stream=$2" -of csv=p=0 "$1"; }

# Music-like: a chord with plucked envelopes, a bass line, a bright tick and
# pink noise; about 13.5 dB from loudness to true peak, so the streaming
# target needs the limiter and the quieter ones do not.
music() { # FILE RATE LAYOUT SECONDS
  local e="0.25*sin(2*PI*110*t)*exp(-6*mod(t\,0.5))+0.12*sin(2*PI*277*t)+0.1*sin(2*PI*330*t)*exp(-3*mod(t\,0.25))+0.5*sin(2*PI*2637*t)*exp(-60*mod(t\,0.5))"
  ffmpeg -nostdin -v error -f lavfi -i "aevalsrc=exprs=$e:s=$2:d=$4" -f lavfi -i "anoisesrc=c=pink:r=$2:a=0.02:d=$4" \
    -filter_complex "[0][1]amix=inputs=2:normalize=0,volume=-6dB,aformat=channel_layouts=$3" -c:a pcm_s24le "$1"
}

# preset target-stereo target-mono limit
presets="ebu-r128 -23 -23 -1
atsc-a85 -24 -24 -2
streaming -14 -14 -1
podcast -16 -19 -1
-18 -18 -18 -1"

check_roundtrip() { # LABEL IN OUT TARGET LIMIT
  local label=$1 in=$2 o=$3 want=$4 limit=$5
  local mode after_i after_tp tol
  mode=$(jq -r '.results[0].mode' "$out")
  tol=0.2; [ "$mode" = limited ] && tol=0.5
  "$POSTKIT" loudness --json "$o" >"$T/m.json" 2>/dev/null
  after_i=$(jq -r '.results[0].integrated' "$T/m.json")
  after_tp=$(jq -r '.results[0].true_peak' "$T/m.json")
  expect "$label: $after_i LUFS ($mode, target $want +-$tol)" within "$after_i" "$want" "$tol"
  expect "$label: true peak $after_tp <= $limit dBTP" le "$after_tp" "$limit"
  expect "$label: rate and channels kept" [ "$(probe "$in" sample_rate,channels)" = "$(probe "$o" sample_rate,channels)" ]
}

for rate in 44100 48000 96000; do
  for layout in mono stereo 5.1; do
    music "$T/m_${rate}_$layout.wav" "$rate" "$layout" 2
    while read -r preset stereo_t mono_t limit; do
      want=$stereo_t; [ "$layout" = mono ] && want=$mono_t
      o="$T/o_${rate}_${layout}_$preset.wav"
      run_pk normalize "$T/m_${rate}_$layout.wav" -o "$o" --target "$preset" --json
      if [ "$rc" -ne 0 ]; then
        expect "$preset $rate $layout: exit 0" false
        continue
      fi
      check_roundtrip "$preset $rate Hz $layout" "$T/m_${rate}_$layout.wav" "$o" "$want" "$limit"
    done <<<"$presets"
  done
done
expect "24-bit stays 24-bit" [ "$(probe "$T/o_48000_stereo_ebu-r128.wav" bits_per_sample)" = 24 ]

# Real speech, every preset.
speech=()
have_corpus asr && speech+=("$PK_CORPORA/asr/cmu_arctic/cmu_arctic_us_aew_a0001.wav")
have_corpus denoise && speech+=("$PK_CORPORA/denoise/pesq_speech_clean.wav")
if [ ${#speech[@]} -eq 0 ]; then
  skip "speech round trips" "needs \$PK_CORPORA/asr or denoise"
fi
for s in "${speech[@]}"; do
  ch=$(probe "$s" channels)
  while read -r preset stereo_t mono_t limit; do
    want=$stereo_t; [ "$ch" = 1 ] && want=$mono_t
    o="$T/speech_$(basename "$s" .wav)_$preset.wav"
    run_pk normalize "$s" -o "$o" --target "$preset" --json
    expect "speech $(basename "$s") $preset: exit 0" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] && check_roundtrip "speech $(basename "$s") $preset" "$s" "$o" "$want" "$limit"
  done <<<"$presets"
done

# The limiter is never silent: a limited result says so everywhere.
music "$T/peaky.wav" 48000 stereo 2
run_pk normalize "$T/peaky.wav" -o "$T/peaky_out.wav" --target streaming
expect "limiter announced in the human output" grep -q "LIMITER ENGAGED" "$out"
expect "limiter announced on stderr" grep -q "LIMITER ENGAGED" "$err"
expect "limiter in the provenance record" [ "$(jq '.details.limiter.events > 0' "$T/peaky_out.wav.postkit.json")" = true ]
run_pk normalize "$T/peaky.wav" -o "$T/peaky_never.wav" --target streaming --limiter never --json
expect "--limiter never: linear" [ "$(jq -r '.results[0].mode' "$out")" = linear ]
expect "--limiter never: the missed target is said" [ "$(jq -r '.results[0].target_missed | type' "$out")" = string ]

# 16-bit in, 16-bit out (TPDF-dithered); not upsampled.
ffmpeg -nostdin -v error -i "$T/m_44100_stereo.wav" -c:a pcm_s16le "$T/in16.wav"
run_pk normalize "$T/in16.wav" -o "$T/out16.wav" --target ebu-r128 --json
expect "16-bit kept, 44.1 kHz kept" [ "$(probe "$T/out16.wav" sample_rate,bits_per_sample)" = "44100,16" ]
expect "16-bit round trip on target" within "$(jq -r '.results[0].after.integrated' "$out")" -23 0.2

# FLAC out, tags kept.
ffmpeg -nostdin -v error -i "$T/m_48000_stereo.wav" -metadata title="Take 5" -metadata artist="Band" -c:a flac "$T/tagged.flac"
run_pk normalize "$T/tagged.flac" -o "$T/tagged_out.flac" --target podcast
expect "FLAC: tags kept" [ "$(ffprobe -v error -show_entries format_tags=title -of csv=p=0 "$T/tagged_out.flac")" = "Take 5" ]

# Video: the video stream is copied bit for bit, the audio keeps its codec.
ffmpeg -nostdin -v error -f lavfi -i testsrc=d=4:s=320x240:r=25 -i "$T/m_48000_stereo.wav" \
  -c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 192k -shortest "$T/clip.mp4"
run_pk normalize "$T/clip.mp4" -o "$T/clip_out.mp4" --target ebu-r128 --json
expect "video: exit 0" [ "$rc" -eq 0 ]
expect "video: remuxed" [ "$(jq -r '.results[0].remuxed' "$out")" = true ]
vin=$(ffmpeg -nostdin -v error -i "$T/clip.mp4" -map 0:v -c copy -f md5 - 2>/dev/null)
vout=$(ffmpeg -nostdin -v error -i "$T/clip_out.mp4" -map 0:v -c copy -f md5 - 2>/dev/null)
expect "video: stream copied untouched" [ "${vin:-none}" = "${vout:-other}" ]
expect "video: audio still AAC" [ "$(probe "$T/clip_out.mp4" codec_name)" = aac ]
"$POSTKIT" loudness --json "$T/clip_out.mp4" >"$T/m.json" 2>/dev/null
expect "video: audio on target after AAC" within "$(jq -r '.results[0].integrated' "$T/m.json")" -23 0.5

# Album: one gain, relative levels kept.
ffmpeg -nostdin -v error -i "$T/m_48000_stereo.wav" -af volume=-6dB -c:a pcm_s24le "$T/quiet.wav"
mkdir -p "$T/album"
run_pk normalize --album "$T/m_48000_stereo.wav" "$T/quiet.wav" -o "$T/album" --target ebu-r128 --json
g1=$(jq -r '.results[0].gain_db' "$out"); g2=$(jq -r '.results[1].gain_db' "$out")
expect "album: one gain for both ($g1, $g2)" within "$g1" "$g2" 0.05
i1=$(jq -r '.results[0].after.integrated' "$out"); i2=$(jq -r '.results[1].after.integrated' "$out")
expect "album: 6 dB apart after ($i1, $i2)" within "$(awk -v a="$i1" -v b="$i2" 'BEGIN{print a-b}')" 6 0.1

# Refusals.
ffmpeg -nostdin -v error -f lavfi -i "anullsrc=r=48000:cl=stereo:d=3" -c:a pcm_s16le "$T/silence.wav"
run_pk normalize "$T/silence.wav" -o "$T/silence_out.wav"
expect "silence: exit 3" [ "$rc" -eq 3 ]
expect "silence: one line naming the file" one_line_naming "silence.wav"
expect "silence: says why" grep -q "below the -70 LUFS gate" "$err"
expect "silence: nothing written" [ ! -e "$T/silence_out.wav" ]
ffmpeg -nostdin -v error -f lavfi -i "sine=d=0.3" -c:a pcm_s16le "$T/short.wav"
run_pk normalize "$T/short.wav" -o "$T/short_out.wav"
expect "0.3 s: exit 3" [ "$rc" -eq 3 ]
expect "0.3 s: says too short" grep -q "too short" "$err"
# Several files without --album: each its own gain (mono gets the podcast's
# -19 LUFS); a silent one is reported and the others are still written.
mkdir -p "$T/many"
ffmpeg -nostdin -v error -i "$T/m_48000_mono.wav" -af volume=-10dB -c:a pcm_s24le "$T/mono_quiet.wav"
run_pk normalize "$T/silence.wav" "$T/mono_quiet.wav" "$T/quiet.wav" -o "$T/many" --target podcast --json
expect "several files, one silent: exit 3" [ "$rc" -eq 3 ]
expect "several files: the silent one named" grep -q "silence.wav" "$err"
expect "several files: the mono one written" [ -f "$T/many/mono_quiet.wav" ]
expect "several files: the stereo one written" [ -f "$T/many/quiet.wav" ]
expect "several files: mono at -19, stereo at -16" [ "$(jq -c '[.results[] | select(.target) | .target]' "$out")" = "[-19,-16]" ]
run_pk normalize "$T/in16.wav" -o "$T/out16.wav"
expect "existing output refused without --force" [ "$rc" -eq 4 ]
run_pk normalize "$T/in16.wav" -o "$T/x.wav" --target loudest
expect "unknown preset: usage error" [ "$rc" -eq 2 ]
expect "no sanitizer report" no_sanitizer_report
finish
