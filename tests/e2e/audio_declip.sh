#!/usr/bin/env bash
# End-to-end: `postkit declip`. A clean music-like signal clipped at -3 dBFS
# is repaired to at least 10 dB better SNR against the original; every run
# is reported; clean audio is left bit-exact; format kept.
. "$(dirname "$0")/lib.sh"
T=$SUITE_TMP
CMP="$(dirname "$POSTKIT")/tests/audio_compare"
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

e="0.45*sin(2*PI*196*t+0.3)*(0.8+0.2*sin(2*PI*0.5*t))+0.3*sin(2*PI*247*t+1)+0.2*sin(2*PI*392*t+2)+0.08*sin(2*PI*1175*t)"
ffmpeg -nostdin -v error -f lavfi -i "aevalsrc=exprs=0.9*($e)|0.8*($e):s=48000:d=4" -c:a pcm_f32le "$T/tmp.wav"
# Peak-normalise to -0.1 dBFS (not 0: the 24-bit conversion would clip the
# loudest samples), then clip at -3 dBFS.
peak=$(ffmpeg -nostdin -i "$T/tmp.wav" -af volumedetect -f null - 2>&1 | sed -n 's/.*max_volume: \(.*\) dB/\1/p')
ffmpeg -nostdin -v error -i "$T/tmp.wav" -af "volume=$(awk -v p="$peak" 'BEGIN{print -p - 0.1}')dB" -c:a pcm_s24le "$T/orig.wav"
ffmpeg -nostdin -v error -i "$T/orig.wav" -af "asoftclip=type=hard:threshold=0.70795" -c:a pcm_s24le "$T/clipped.wav"
run_pk declip "$T/clipped.wav" -o "$T/fixed.wav" --json
expect "declip: exit 0" [ "$rc" -eq 0 ]
expect "runs found and repaired ($(jq -r '.results[0].repaired_runs' "$out"))" [ "$(jq -r '.results[0].repaired_runs' "$out")" -ge 50 ]
expect "every run listed with time and channel" [ "$(jq -r '.results[0].run_list[0] | has("time") and has("channel")' "$out")" = true ]
before=$("$CMP" snr "$T/orig.wav" "$T/clipped.wav")
after=$("$CMP" snr "$T/orig.wav" "$T/fixed.wav")
expect "SNR improves by >= 10 dB ($before -> $after dB)" gt "$(awk -v a="$after" -v b="$before" 'BEGIN{print a-b}')" 9.999
expect "24-bit kept" [ "$(ffprobe -v error -show_entries stream=bits_per_sample -of csv=p=0 "$T/fixed.wav")" = 24 ]
expect "the provenance says what was done" [ "$(jq '.details.repaired_runs > 0' "$T/fixed.wav.postkit.json")" = true ]

# Clean audio: nothing found, written bit for bit.
run_pk declip "$T/orig.wav" -o "$T/same.wav" --json
expect "clean: no runs" [ "$(jq -r '.results[0].runs' "$out")" = 0 ]
expect "clean: samples unchanged" [ "$(ffmpeg -nostdin -v error -i "$T/orig.wav" -f md5 -)" = "$(ffmpeg -nostdin -v error -i "$T/same.wav" -f md5 -)" ]

# Clipped at full scale: the rebuilt peaks need room; a gain says so.
ffmpeg -nostdin -v error -i "$T/orig.wav" -af "volume=4dB" -c:a pcm_s16le "$T/fs.wav" 2>/dev/null
run_pk declip "$T/fs.wav" -o "$T/fs_fixed.wav" --json
expect "full-scale clipping: exit 0" [ "$rc" -eq 0 ]
expect "full-scale clipping: gain applied and reported" gt "0" "$(jq -r '.results[0].gain_db' "$out")"
expect "no sanitizer report" no_sanitizer_report
finish
