#!/usr/bin/env bash
# Demo of `postkit qc`: a 12-second sample video (test pattern with a black
# second and a frozen second, a spoken sentence as audio) checked against
# the EBU R 128 profile; prints the HTML report's path.
set -euo pipefail
: "${POSTKIT:?run through scripts/demo}" "${DEMO_DIR:?run through scripts/demo}"
d="$DEMO_DIR/qc"
mkdir -p "$d"
sample="$d/sample.mp4"
if [ ! -f "$sample" ]; then
  speech="$d/speech.wav"
  if command -v flite >/dev/null; then
    flite -t "This sample goes black after four seconds and freezes after eight." -o "$speech"
  else
    espeak-ng -w "$speech" "This sample goes black after four seconds and freezes after eight."
  fi
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=s=1280x720:r=25:d=12" -i "$speech" -filter_complex \
    "[0:v]split[a][b];[a][b]freezeframes=first=200:last=249:replace=200,drawbox=enable='between(n\,100\,124)':color=black:t=fill,format=yuv420p[v];[1:a]aresample=48000,apad,atrim=0:12,pan=stereo|c0=c0|c1=0.9*c0[au]" \
    -map "[v]" -map "[au]" -c:v libx264 -preset veryfast -crf 20 -c:a aac -b:a 128k "$sample"
fi
rc=0
"$POSTKIT" qc --quiet --profile ebu-r128 --report "$d/report.html" --force "$sample" >"$d/qc.txt" || rc=$?
echo "qc: $sample checked against ebu-r128 (exit $rc: 0 pass, 1 fail)"
echo "qc: report  $d/report.html"
echo "qc: summary $d/qc.txt"
