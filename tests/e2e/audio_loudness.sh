#!/usr/bin/env bash
# End-to-end: `postkit loudness` on the EBU loudness test set (Tech 3341
# tolerances), on generated programmes through the decoder, layouts, rates
# and the edge cases (silence, 0.3 s, NaN/Inf, video, album, plot).
. "$(dirname "$0")/lib.sh"
T=$SUITE_TMP

# value KEY from the JSON result of the last run (first result)
value() { jq -r ".results[0].$1" "$out"; }
# within V WANT LO HI: WANT+LO <= V <= WANT+HI (LO negative)
within() { awk -v v="$1" -v w="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v != "null" && v >= w + lo - 1e-9 && v <= w + hi + 1e-9) }'; }

# ---- the real EBU test set ------------------------------------------------
C=$PK_CORPORA/loudness
if [ -f "$C/MANIFEST.txt" ]; then
  # file key expected lo hi  (Tech 3341 Table 1; TP +0.2/-0.4 dB)
  while read -r f key want lo hi; do
    [ -z "$f" ] && continue
    run_pk loudness --json "$C/$f"
    v=$(value "$key")
    expect "3341 $f $key = $v (want $want)" within "$v" "$want" "$lo" "$hi"
  done <<'EOF'
seq-3341-1-16bit.wav integrated -23 -0.1 0.1
seq-3341-1-16bit.wav max_momentary -23 -0.1 0.1
seq-3341-1-16bit.wav max_short_term -23 -0.1 0.1
seq-3341-2-16bit.wav integrated -33 -0.1 0.1
seq-3341-2-16bit.wav max_short_term -33 -0.1 0.1
1kHz_Sine_-20_LUFS-16bit.wav integrated -20 -0.1 0.1
1kHz_Sine_-40_LUFS-16bit.wav integrated -40 -0.1 0.1
seq-3341-10-1-24bit.wav max_short_term -23 -0.1 0.1
seq-3341-10-10-24bit.wav max_short_term -23 -0.1 0.1
seq-3341-10-20-24bit.wav max_short_term -23 -0.1 0.1
seq-3341-12-24bit.wav max_momentary -23 -0.1 0.1
seq-3341-13-1-24bit.wav max_momentary -23 -0.1 0.1
seq-3341-13-10-24bit.wav max_momentary -23 -0.1 0.1
seq-3341-13-20-24bit.wav max_momentary -23 -0.1 0.1
seq-3341-15-24bit.wav true_peak -6 -0.4 0.2
seq-3341-16-24bit.wav true_peak -6 -0.4 0.2
seq-3341-17-24bit.wav true_peak -6 -0.4 0.2
seq-3341-18-24bit.wav true_peak -6 -0.4 0.2
seq-3341-19-24bit.wav true_peak 3 -0.4 0.2
seq-3341-20-24bit.wav true_peak 0 -0.4 0.2
seq-3341-21-24bit.wav true_peak 0 -0.4 0.2
seq-3341-22-24bit.wav true_peak 0 -0.4 0.2
seq-3341-23-24bit.wav true_peak 0 -0.4 0.2
EOF
  # Every file at once, in parallel, gives the same figures.
  run_pk loudness --json "$C"/seq-3341-1*.wav
  expect "several files measured in one run: exit 0" [ "$rc" -eq 0 ]
  expect "several files measured in one run: all records" [ "$(jq '.results | length' "$out")" -ge 8 ]
else
  skip "EBU loudness test set" "needs \$PK_CORPORA/loudness"
fi

# ---- generated programmes through the decoder ------------------------------
# Tech 3341 case 5 as a FLAC: 20 s at -26, 20.1 s at -20, 20 s at -26 dBFS.
# tone SECONDS DBFS [RATE]: a stereo in-phase 1 kHz sine at that peak level
tone() { echo "aevalsrc=exprs=pow(10\,$2/20)*sin(2*PI*1000*t)|pow(10\,$2/20)*sin(2*PI*1000*t):s=${3:-48000}:d=$1"; }
mono() { echo "aevalsrc=exprs=pow(10\,$2/20)*sin(2*PI*1000*t):s=${3:-48000}:d=$1"; }
ffmpeg -nostdin -v error -f lavfi -i "$(tone 20 -26)" -f lavfi -i "$(tone 20.1 -20)" -f lavfi -i "$(tone 20 -26)" \
  -filter_complex "[0][1][2]concat=n=3:v=0:a=1" -c:a flac -sample_fmt s32 "$T/case5.flac"
run_pk loudness --json "$T/case5.flac"
expect "3341 case 5 through FLAC: I = $(value integrated)" within "$(value integrated)" -23 -0.1 0.1

# Tech 3342 case 1 (20 s -20 dBFS, 20 s -30 dBFS): LRA 10 +-1.
ffmpeg -nostdin -v error -f lavfi -i "$(tone 20 -20)" -f lavfi -i "$(tone 20 -30)" \
  -filter_complex "[0][1]concat=n=2:v=0:a=1" -c:a pcm_s24le "$T/lra1.wav"
run_pk loudness --json "$T/lra1.wav"
expect "3342 case 1: LRA = $(value loudness_range)" within "$(value loudness_range)" 10 -1 1

# 5.1: the LFE is not counted, the surrounds weigh 1.41; 7.1 back pair 1.0.
ffmpeg -nostdin -v error -f lavfi -i "$(mono 10 0)" -filter_complex \
  "pan=5.1|FL=0.039811*c0|FR=0.039811*c0|FC=0.063096*c0|LFE=0.7*c0|BL=0.031623*c0|BR=0.031623*c0" -c:a pcm_s24le "$T/51.wav"
run_pk loudness --json "$T/51.wav"
expect "5.1 (case 6 levels, loud LFE): I = $(value integrated)" within "$(value integrated)" -23 -0.15 0.15
expect "5.1 LFE weight 0" within "$(value 'channels[3].weight')" 0 0 0
ffmpeg -nostdin -v error -f lavfi -i "$(mono 5 -20)" -filter_complex "pan=7.1|BL=c0|SL=c0" -c:a pcm_s24le "$T/71.wav"
run_pk loudness --json "$T/71.wav"
expect "7.1 back weight 1.0" within "$(value 'channels[4].weight')" 1 0 0
expect "7.1 side weight 1.41" within "$(value 'channels[6].weight')" 1.41 0 0

# Extreme rates.
for r in 8000 192000; do
  ffmpeg -nostdin -v error -f lavfi -i "$(tone 6 -23 $r)" -c:a pcm_s24le "$T/r$r.wav"
  run_pk loudness --json "$T/r$r.wav"
  expect "$r Hz: I = $(value integrated)" within "$(value integrated)" -23 -0.1 0.1
done

# ---- edge cases -------------------------------------------------------------
ffmpeg -nostdin -v error -f lavfi -i "anullsrc=r=48000:cl=stereo:d=5" -c:a pcm_s16le "$T/silence.wav"
run_pk loudness --json "$T/silence.wav"
expect "silence: exit 0" [ "$rc" -eq 0 ]
expect "silence: integrated null" [ "$(value integrated)" = null ]
expect "silence: noted below the gate" grep -q "below the -70 LUFS" "$out"

ffmpeg -nostdin -v error -f lavfi -i "$(tone 0.3 -20)" -c:a pcm_s24le "$T/short.wav"
run_pk loudness --json "$T/short.wav"
expect "0.3 s: exit 0" [ "$rc" -eq 0 ]
expect "0.3 s: no integrated" [ "$(value integrated)" = null ]
expect "0.3 s: the notes say why" grep -q "shorter than one 400 ms" "$out"
expect "0.3 s: peaks still measured" within "$(value sample_peak)" -20 -0.1 0.1

python3 - "$T/nan.wav" <<'EOF'
import math, struct, sys, wave
rate, n = 48000, 48000 * 5
data = bytearray()
for i in range(n):
    v = 0.1 * math.sin(2 * math.pi * 1000 * i / rate)
    if i in (48000, 48001): v = float('nan')
    if i == 96000: v = float('inf')
    data += struct.pack('<f', v)
# WAVE_FORMAT_IEEE_FLOAT (3), mono, 32-bit
hdr = b'RIFF' + struct.pack('<I', 4 + 24 + 8 + len(data)) + b'WAVE'
hdr += b'fmt ' + struct.pack('<IHHIIHH', 16, 3, 1, rate, rate * 4, 4, 32)
hdr += b'data' + struct.pack('<I', len(data))
open(sys.argv[1], 'wb').write(hdr + data)
EOF
run_pk loudness --json "$T/nan.wav"
expect "NaN/Inf float WAV: NaN counted" [ "$(value non_finite.nan)" = 2 ]
expect "NaN/Inf float WAV: Inf counted" [ "$(value non_finite.inf)" = 1 ]
# A -20 dBFS mono sine reads -23.0 LUFS (one channel, weight 1.0).
expect "NaN/Inf float WAV: not propagated (I = $(value integrated))" within "$(value integrated)" -23 -0.1 0.1
expect "NaN/Inf float WAV: first at 1.0 s" within "$(value non_finite.first_time)" 1 0 0

# Clipped runs are listed with channel and time.
ffmpeg -nostdin -v error -f lavfi -i "aevalsrc=exprs=2*sin(2*PI*100*t):s=48000:d=2" -c:a pcm_s16le "$T/clip.wav"
run_pk loudness --json "$T/clip.wav"
expect "clipped runs found ($(value clipping.runs))" [ "$(value clipping.runs)" -ge 300 ]

# Audio of a video file.
ffmpeg -nostdin -v error -f lavfi -i testsrc=d=6:s=160x120:r=25 -f lavfi -i "$(tone 6 -23)" \
  -c:v libx264 -c:a aac -b:a 256k -shortest "$T/video.mp4"
run_pk loudness --json "$T/video.mp4"
expect "video file: audio measured ($(value integrated))" within "$(value integrated)" -23 -0.2 0.2

# Album: -20 and -30 LUFS programmes pooled.
ffmpeg -nostdin -v error -f lavfi -i "$(tone 10 -20)" -c:a pcm_s24le "$T/a.wav"
ffmpeg -nostdin -v error -f lavfi -i "$(tone 10 -30)" -c:a pcm_s24le "$T/b.wav"
run_pk loudness --json --album "$T/a.wav" "$T/b.wav"
album_i=$(jq -r '.results[] | select(.album) | .integrated' "$out")
expect "album integrated pools the blocks ($album_i, want -22.6)" within "$album_i" -22.6 -0.1 0.1

# Plot: a self-contained SVG with both curves; PNG through libvips.
run_pk loudness "$T/lra1.wav" --plot "$T/plot.svg" --target podcast
expect "plot: exit 0" [ "$rc" -eq 0 ]
expect "plot: an SVG with momentary and short-term curves" [ "$(grep -c "<polyline" "$T/plot.svg")" -eq 2 ]
expect "human output shows the deviation from the target" grep -q "vs target" "$out"
run_pk loudness "$T/lra1.wav" --plot "$T/plot.png"
expect "PNG plot: exit 0" [ "$rc" -eq 0 ]
expect "PNG plot: a PNG file" [ "$(head -c 4 "$T/plot.png" | tail -c 3)" = PNG ]

# Errors: one line naming the file, exit 3; other files still measured.
printf 'not audio' >"$T/bad.wav"
run_pk loudness "$T/bad.wav" "$T/a.wav"
expect "bad file: exit 3" [ "$rc" -eq 3 ]
expect "bad file: the good one still measured" grep -q "a.wav" "$out"
expect "bad file: named on stderr" grep -q "bad.wav" "$err"
run_pk loudness --target loud "$T/a.wav"
expect "unknown preset: usage error" [ "$rc" -eq 2 ]
expect "no sanitizer report" no_sanitizer_report
finish
