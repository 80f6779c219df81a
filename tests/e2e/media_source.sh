#!/usr/bin/env bash
# End-to-end: what the media source delivers, checked against ffprobe —
# variable frame rate timestamps, a damaged file read to its end, and the
# bound on what waits when audio and video are far apart.
. "$(dirname "$0")/lib.sh"
d=$SUITE_TMP
dump="$(dirname "$POSTKIT")/tests/media_dump"
ff() { ffmpeg -nostdin -v error -y "$@"; }

# --- variable frame rate: the frame interval grows from 1/30 s by 1/1500 s
ff -f lavfi -i "testsrc2=s=160x120:r=30:d=3" -vf "settb=1/90000,setpts='(N/30+N*N/3000)/TB'" \
  -fps_mode vfr -enc_time_base 1:90000 -c:v libx264 "$d/vfr.mp4"
"$dump" --video-only "$d/vfr.mp4" >"$out" 2>"$err"; rc=$?
expect "VFR clip decodes" [ "$rc" -eq 0 ]
ffprobe -v error -select_streams v -show_entries frame=pts -of default=nw=1:nk=1 "$d/vfr.mp4" >"$d/ffprobe.pts"
awk '$1=="V"{print $3}' "$out" >"$d/postkit.pts"
expect "frame pts equal ffprobe's, frame for frame" cmp -s "$d/ffprobe.pts" "$d/postkit.pts"
expect "all 90 frames" [ "$(wc -l <"$d/postkit.pts")" -eq 90 ]
expect "the clip really is VFR (many distinct intervals)" \
  [ "$(awk 'NR>1{print $1-p}{p=$1}' "$d/postkit.pts" | sort -u | wc -l)" -gt 20 ]
# times strictly increase and each duration is the gap to the next frame
expect "times increase and durations are the gaps" awk '
  $1=="V" { if (n && !($4 > t)) bad=1; if (n && ($4 - t - d > 3e-6 || t + d - $4 > 3e-6)) bad=1;
            t=$4; d=$5; n++ }
  END { exit bad || n != 90 }' "$out"
expect "no sanitizer report" no_sanitizer_report

# --- damaged bytes in the middle of a Matroska file
ff -f lavfi -i "testsrc2=s=320x240:r=25:d=6" -f lavfi -i "sine=r=48000:d=6" -c:v libx264 -g 25 -c:a aac \
  -shortest "$d/clip.mkv"
cp "$d/clip.mkv" "$d/damaged.mkv"
size=$(stat -c %s "$d/damaged.mkv")
for k in 0 1 2 3 4; do
  head -c 2000 /dev/urandom | dd of="$d/damaged.mkv" bs=1 seek=$((size / 3 + k * size / 12)) conv=notrunc status=none
done
"$dump" "$d/damaged.mkv" >"$out" 2>"$err"; rc=$?
expect "damaged file is read to its end (exit 0)" [ "$rc" -eq 0 ]
expect "decode errors are reported as items" [ "$(grep -c '^E ' "$out")" -gt 0 ]
expect "the last frame is the last one of the file" \
  awk '/^END/ { split($5, a, "="); exit !(a[2] > 5.9 && a[2] < 6.0) }' "$out"
expect "no sanitizer report" no_sanitizer_report

# --- audio 16 s behind the start of the video: video frames wait for the
# audio only up to the bound (64 frames), not for 16 s (400 frames, 180 MB
# of 640x480 pictures). ASan's quarantine of freed memory would grow RSS
# with the file's length by itself, so it is turned off for the measurement.
ff -f lavfi -i "testsrc2=s=640x480:r=25:d=20" -itsoffset 16 -f lavfi -i "sine=r=48000:d=4" \
  -map 0:v -map 1:a -c:v libx264 -preset ultrafast -c:a flac "$d/late_audio.mkv"
ff -f lavfi -i "testsrc2=s=640x480:r=25:d=20" -f lavfi -i "sine=r=48000:d=20" \
  -c:v libx264 -preset ultrafast -c:a flac "$d/together.mkv"
measure() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=0" "$dump" "$1" >"$out" 2>"$err"; }
measure "$d/together.mkv"
rss_together=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$out")
measure "$d/late_audio.mkv"
rss_late=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$out")
echo "# peak RSS: audio with video ${rss_together} kB, audio 16 s late ${rss_late} kB"
expect "late audio file decodes fully" grep -q 'samples=192000 frames=500 ' "$out"
expect "the first audio block (at 16 s) comes after the 400 frames before it" \
  [ "$(awk '$1=="A"{print NR; exit}' "$out")" -eq 401 ]
expect "items stay in time order" awk '
  $1=="A" { t=$4 } $1=="V" { t=$4 } $1=="A" || $1=="V" { if (t < last - 1e-9) bad=1; last=t }
  END { exit bad }' "$out"
expect "waiting frames are bounded: peak RSS within 80 MB of the interleaved file" \
  [ "$rss_late" -lt $((rss_together + 80000)) ]
expect "no sanitizer report" no_sanitizer_report
finish
