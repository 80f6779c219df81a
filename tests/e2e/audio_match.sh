#!/usr/bin/env bash
# End-to-end: `postkit match`. A signal filtered by a known EQ is matched back
# to the unfiltered reference within +-1 dB in every third-octave band from
# 100 Hz to 10 kHz; loudness and peak follow the reference; --eq-only keeps
# the input's loudness; the report carries the curve; the plot is drawn.
. "$(dirname "$0")/lib.sh"
T=$SUITE_TMP
CMP="$(dirname "$POSTKIT")/tests/audio_compare"
within() { awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN { exit !(v != "null" && v >= w - t - 1e-9 && v <= w + t + 1e-9) }'; }

# Worst deviation (dB) of B's third-octave bands from A's, after removing the
# mean difference (the level is loudness's business, not the EQ's).
band_error() {
  "$CMP" bands "$1" >"$T/a.bands" && "$CMP" bands "$2" >"$T/b.bands" &&
    paste "$T/a.bands" "$T/b.bands" | awk '{ d[NR] = $4 - $2; m += d[NR] } END { m /= NR
      for (i = 1; i <= NR; i++) { e = d[i] - m; if (e < 0) e = -e; if (e > w) w = e } printf "%.2f\n", w }'
}

ffmpeg -nostdin -v error -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.25:d=20:seed=3" -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.1:d=20:seed=4" \
  -filter_complex "[0][1]join=inputs=2:channel_layout=stereo,pan=stereo|c0=c0+c1|c1=c0-c1" -c:a pcm_s24le "$T/ref.wav"
# The known EQ: low shelf -5 dB at 150 Hz, +6 dB bell at 1 kHz, +4 dB shelf at 5 kHz; 8 dB quieter; narrower.
ffmpeg -nostdin -v error -i "$T/ref.wav" -af "bass=g=-5:f=150,equalizer=f=1000:t=q:w=1:g=6,treble=g=4:f=5000,volume=-8dB,pan=stereo|c0=0.8*c0+0.2*c1|c1=0.2*c0+0.8*c1" \
  -c:a pcm_s24le "$T/in.wav"
before=$(band_error "$T/ref.wav" "$T/in.wav")
expect "the known EQ really changes the bands ($before dB)" awk -v e="$before" 'BEGIN { exit !(e > 3) }'

for phase in linear minimum; do
  run_pk match "$T/in.wav" --ref "$T/ref.wav" -o "$T/out_$phase.wav" --phase "$phase" --json
  expect "$phase: exit 0" [ "$rc" -eq 0 ]
  e=$(band_error "$T/ref.wav" "$T/out_$phase.wav")
  expect "$phase phase: bands within +-1 dB of the reference (worst $e dB)" awk -v e="$e" 'BEGIN { exit !(e <= 1.0) }'
done
"$POSTKIT" loudness --json "$T/ref.wav" >"$T/r.json"
"$POSTKIT" loudness --json "$T/out_linear.wav" >"$T/o.json"
ri=$(jq -r '.results[0].integrated' "$T/r.json"); oi=$(jq -r '.results[0].integrated' "$T/o.json")
expect "loudness matched ($oi vs $ri)" within "$oi" "$ri" 0.5
limit=$(jq -r '.results[0].true_peak_limit' "$out")
tp=$(jq -r '.results[0].true_peak' "$T/o.json")
expect "true peak $tp under the ceiling $limit" awk -v a="$tp" -v b="$limit" 'BEGIN { exit !(a <= b + 1e-9) }'
run_pk match "$T/in.wav" --ref "$T/ref.wav" -o "$T/out.wav" --json
expect "width matched: side raised" awk -v g="$(jq -r '.results[0].side_gain_db' "$out")" 'BEGIN { exit !(g > 1) }'
expect "the EQ curve is in the record" [ "$(jq '.results[0].eq_curve | length' "$out")" -ge 50 ]
expect "the EQ curve is in the provenance" [ "$(jq '.details.eq_curve_hz_db | length' "$T/out.wav.postkit.json")" -ge 50 ]
expect "the correction stays within +-12 dB" [ "$(jq '[.results[0].eq_curve[][1] | fabs] | max <= 12' "$out")" = true ]

# --eq-only: the EQ of the reference, the loudness of the input.
run_pk match "$T/in.wav" --ref "$T/ref.wav" -o "$T/eqonly.wav" --eq-only --plot "$T/eq.svg"
expect "eq-only: exit 0" [ "$rc" -eq 0 ]
"$POSTKIT" loudness --json "$T/in.wav" >"$T/i.json"
"$POSTKIT" loudness --json "$T/eqonly.wav" >"$T/e.json"
ii=$(jq -r '.results[0].integrated' "$T/i.json"); ei=$(jq -r '.results[0].integrated' "$T/e.json")
expect "eq-only keeps the input's loudness ($ei vs $ii)" within "$ei" "$ii" 0.3
e=$(band_error "$T/ref.wav" "$T/eqonly.wav")
expect "eq-only: bands within +-1 dB ($e dB)" awk -v e="$e" 'BEGIN { exit !(e <= 1.0) }'
expect "eq plot: curve and spectra" [ "$(grep -c "<polyline" "$T/eq.svg")" -eq 4 ]

# Rates may differ: a 44.1 kHz reference for a 48 kHz input.
ffmpeg -nostdin -v error -i "$T/ref.wav" -ar 44100 -c:a pcm_s16le "$T/ref441.wav"
run_pk match "$T/in.wav" --ref "$T/ref441.wav" -o "$T/out441.wav" --json
e=$(band_error "$T/ref.wav" "$T/out441.wav")
expect "44.1 kHz reference: bands within +-1 dB ($e dB)" awk -v e="$e" 'BEGIN { exit !(e <= 1.0) }'
expect "48 kHz kept" [ "$(ffprobe -v error -show_entries stream=sample_rate -of csv=p=0 "$T/out441.wav")" = 48000 ]

ffmpeg -nostdin -v error -f lavfi -i "anullsrc=r=48000:cl=stereo:d=3" -c:a pcm_s16le "$T/silence.wav"
run_pk match "$T/silence.wav" --ref "$T/ref.wav" -o "$T/x.wav"
expect "silent input refused: exit 3" [ "$rc" -eq 3 ]
expect "no sanitizer report" no_sanitizer_report
finish
