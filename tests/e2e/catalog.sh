#!/usr/bin/env bash
# End-to-end tests of the catalogue: index, search, dupes, xmp, catalog info.
# Media are generated here (ffmpeg, exiftool); near-duplicate ground truth
# comes from $PK_CORPORA (skipped with a reason when absent).
source "$(dirname "$0")/lib.sh"

export POSTKIT_CATALOG="$SUITE_TMP/catalog.db"
export XDG_CACHE_HOME="$SUITE_TMP/cache"
export XDG_DATA_HOME="$SUITE_TMP/data"

# jq over the JSON results of the last run.
results() { jq -r "$1" "$out"; }
# How many groups of kind K contain file name N (exact match on basename).
groups_with() { jq --arg k "$1" --arg n "$2" '[.results[] | select(.kind == $k) |
  select([(.keeper // empty), (.others // [])[], (.files // [])[]] | map(.path | split("/") | last) | index($n))] | length' "$out"; }
# Is basename B in the same group of kind K as basename A?
same_group() { jq -e --arg k "$1" --arg a "$2" --arg b "$3" '[.results[] | select(.kind == $k) |
  [(.keeper // empty), (.others // [])[], (.files // [])[]] | map(.path | split("/") | last) |
  select(index($a) and index($b))] | length == 1' "$out" >/dev/null; }

not_grep() { ! grep -q "$@"; }

# A small JPEG whose picture depends on $2 (a seed), optionally with EXIF.
make_jpeg() { # path seed [exiftool args...]
  local path=$1 seed=$2; shift 2
  mkdir -p "$(dirname "$path")"
  ffmpeg -loglevel error -y -f lavfi -i "gradients=s=160x120:seed=$seed:n=5" \
    -vf "hue=h=$((seed * 37 % 360))" -frames:v 1 "$path" || return 1
  [ $# -gt 0 ] && exiftool -q -overwrite_original "$@" "$path"
  return 0
}

# ---- the catalogue file ---------------------------------------------------

lib="$SUITE_TMP/lib"
make_jpeg "$lib/Trips/Iceland/IMG_0001.jpg" 1 -Make=Canon "-Model=Canon EOS R5" \
  "-DateTimeOriginal=2024:06:15 10:00:00" "-LensModel=RF24-70mm F2.8"
make_jpeg "$lib/Trips/Norway/IMG_0002.jpg" 2 -Make=Nikon -Model=Z6 "-DateTimeOriginal=2023:02:01 12:00:00"
mkdir -p "$lib/Clips" "$lib/Music"
ffmpeg -loglevel error -y -f lavfi -i testsrc=s=640x360:d=2 -f lavfi -i sine=d=2 -shortest \
  "$lib/Clips/drone.mp4"
ffmpeg -loglevel error -y -f lavfi -i sine=f=440:d=3 "$lib/Music/tone.wav"
mkdir -p "$lib/.hidden" "$lib/skipme"
cp "$lib/Trips/Iceland/IMG_0001.jpg" "$lib/.hidden/secret.jpg"
cp "$lib/Trips/Iceland/IMG_0001.jpg" "$lib/skipme/excluded.jpg"
echo "not media" >"$lib/notes.txt"

run_pk index "$lib" --exclude skipme --json
expect "index exits 0" [ "$rc" -eq 0 ]
expect "index counts the 4 media files (hidden, excluded, non-media skipped)" [ "$(results '.results[0].files')" = 4 ]
expect "catalogue at POSTKIT_CATALOG" [ -f "$POSTKIT_CATALOG" ]
expect "thumbnails in XDG_CACHE_HOME, not next to the files" \
  [ "$(find "$XDG_CACHE_HOME/postkit/thumbs" -name '*.jpg' | wc -l)" -eq 2 ]
expect "no file written into the library" [ "$(find "$lib" -type f | wc -l)" -eq 7 ]

run_pk catalog info --check --json
expect "catalog info: schema version 5 or later, integrity ok" \
  [ "$(results '.results[0] | .schema_version >= 5 and .integrity == "ok"')" = true ]
run_pk catalog info --catalog "$SUITE_TMP/other.db"
expect "a missing catalogue is an input error (exit 3)" [ "$rc" -eq 3 ]
expect "the message names the file" one_line_naming "other.db"
run_pk search x --catalog "$lib/notes.txt"
expect "a file that is not a catalogue is refused (exit 3)" [ "$rc" -eq 3 ]

# ---- search -----------------------------------------------------------------

run_pk search iceland --json
expect "search by folder name" [ "$(results '[.results[].path] | map(split("/") | last) | join(",")')" = IMG_0001.jpg ]
run_pk search "type:video" --json
expect "type:video" [ "$(results '[.results[].path | split("/") | last] | join(",")')" = drone.mp4 ]
run_pk search "type:audio duration:>2s" --json
expect "type:audio duration:>2s" [ "$(results '.results | length')" = 1 ]
run_pk search "duration:>60s" --json
expect "duration:>60s finds nothing" [ "$(results '.results | length')" = 0 ]
run_pk search "camera:canon" --json
expect "camera:canon" [ "$(results '[.results[].path | split("/") | last] | join(",")')" = IMG_0001.jpg ]
run_pk search "lens:rf24" --json
expect "lens:rf24" [ "$(results '.results | length')" = 1 ]
run_pk search "date:2024-06..2024-08" --json
expect "date:2024-06..2024-08" [ "$(results '[.results[].path | split("/") | last] | join(",")')" = IMG_0001.jpg ]
run_pk search "date:..2023" --json
expect "date:..2023" [ "$(results '[.results[].path | split("/") | last] | join(",")')" = IMG_0002.jpg ]
run_pk search "width:>=640" --json
expect "width:>=640 (the 640x360 clip)" [ "$(results '.results | length')" = 1 ]
run_pk search "drone width:>=640" --json
expect "a word and width:>=640" [ "$(results '.results | length')" = 1 ]
run_pk search "drone width:>=1280" --json
expect "a word and width:>=1280 finds nothing" [ "$(results '.results | length')" = 0 ]
run_pk search "drone duration:<=1m" --json
expect "a word and duration:<=1m" [ "$(results '.results | length')" = 1 ]
# Bounds at, just below and just above the clip's 640x360, 2 s (the
# audio's few milliseconds more or less: its duration is about 2.0 s).
for q in "drone width:>639" "drone width:<=640" "drone width:<641" "drone height:=360" \
         "drone height:>=360" "drone duration:>1.5s" "drone duration:<2.5s" "drone width:>=640 height:<361"; do
  run_pk search "$q" --json
  expect "$q finds the clip" [ "$(results '.results | length')" = 1 ]
done
for q in "drone width:>640" "drone width:<640" "drone height:=359" "drone height:>360" \
         "drone duration:>2.5s" "drone duration:<1.5s" "drone width:=640.5"; do
  run_pk search "$q" --json
  expect "$q finds nothing" [ "$(results '.results | length')" = 0 ]
done
run_pk search "canon type:photo" --json
expect "words and filters together" [ "$(results '.results | length')" = 1 ]
run_pk search "date:junk"
expect "a bad filter is a usage error (exit 2)" [ "$rc" -eq 2 ]
run_pk search 'NEAR("x" OR' --json
expect "FTS syntax typed by the user is plain text, not an error" [ "$rc" -eq 0 ]

# ---- rename, move, delete, re-index ------------------------------------------

run_pk search IMG_0002 --json
id_before=$(results '.results[0].location_id')
mkdir -p "$lib/Moved"
mv "$lib/Trips/Norway/IMG_0002.jpg" "$lib/Moved/renamed.jpg"
rm "$lib/Music/tone.wav"
run_pk index "$lib" --exclude skipme --json
expect "re-index: one move, one missing" [ "$(results '.results[0] | "\(.moved),\(.missing),\(.added)"')" = "1,1,0" ]
run_pk search renamed --json
expect "the moved file keeps its record" [ "$(results '.results[0].location_id')" = "$id_before" ]
run_pk search "missing:yes" --json
expect "the deleted file is marked missing, not forgotten" \
  [ "$(results '[.results[].path | split("/") | last] | join(",")')" = tone.wav ]
run_pk index "$lib" --exclude skipme --json
expect "unchanged re-index touches nothing" \
  [ "$(results '.results[0] | "\(.unchanged),\(.added),\(.changed),\(.moved)"')" = "3,0,0,0" ]
touch "$lib/Clips/drone.mp4"
run_pk index "$lib" --exclude skipme --json
expect "a touched file (same content) is recognised by its fast hash" \
  [ "$(results '.results[0] | "\(.unchanged),\(.changed)"')" = "3,0" ]

# ---- newer schema refused ------------------------------------------------------

cp "$POSTKIT_CATALOG" "$SUITE_TMP/newer.db"
if command -v sqlite3 >/dev/null; then
  sqlite3 "$SUITE_TMP/newer.db" "UPDATE meta SET value = '99' WHERE key = 'schema_version'"
  run_pk search x --catalog "$SUITE_TMP/newer.db"
  expect "a catalogue of a newer schema is refused (exit 3)" [ "$rc" -eq 3 ]
  expect "... with a clear message" grep -q "newer than this postkit" "$err"
else
  skip "newer schema refused" "sqlite3 command not installed"
fi

# ---- xmp ---------------------------------------------------------------------

img="$lib/Trips/Iceland/IMG_0001.jpg"
exiftool -q -o "$lib/Trips/Iceland/IMG_0001.xmp" -XMP-xmp:Rating=4 "-XMP-dc:Title=Glacier" \
  -XMP-dc:Subject=existing "$img"
run_pk xmp "$img" --json
expect "xmp merges into an exiftool sidecar" [ "$rc" -eq 0 ]
subj=$(exiftool -s3 -Subject "$lib/Trips/Iceland/IMG_0001.xmp")
expect "dc:subject keeps the old keyword and every level" \
  [ "$subj" = "existing, Trips, Iceland, Camera, Canon, Canon EOS R5, Lens, RF24-70mm F2.8" ]
expect "lr:hierarchicalSubject" [ "$(exiftool -s3 -HierarchicalSubject "$lib/Trips/Iceland/IMG_0001.xmp")" = \
  "Trips|Iceland, Camera|Canon|Canon EOS R5, Lens|RF24-70mm F2.8" ]
expect "other fields survive (rating, title, EXIF copied by exiftool)" [ "$(exiftool -s3 -Rating -Title -Model \
  "$lib/Trips/Iceland/IMG_0001.xmp" | tr '\n' ,)" = "4,Glacier,Canon EOS R5," ]
expect "provenance block" grep -q "postkit:SourceSHA256" "$lib/Trips/Iceland/IMG_0001.xmp"
run_pk xmp "$img"
expect "running again adds nothing twice" [ "$(grep -c '<postkit:Tool>' "$lib/Trips/Iceland/IMG_0001.xmp")" = 1 ]
run_pk xmp --all --sidecar-name ext
expect "--all --sidecar-name ext writes name.ext.xmp" test -f "$lib/Clips/drone.mp4.xmp" -a -f "$img.xmp"
echo "<broken" >"$lib/Moved/renamed.xmp"
run_pk xmp "$lib/Moved/renamed.jpg"
expect "a sidecar that is not XML is left alone (exit 3)" [ "$rc" -eq 3 ]
expect "... untouched" [ "$(cat "$lib/Moved/renamed.xmp")" = "<broken" ]

# ---- RAW+JPEG pairs and bursts -------------------------------------------------

rel="$SUITE_TMP/rel"
for i in 1 2 3; do
  make_jpeg "$rel/burst_$i.jpg" 5 -Make=Sony -Model=A7IV "-DateTimeOriginal=2024:07:01 09:30:00" \
    "-SubSecTimeOriginal=$((i * 30))"
done
make_jpeg "$rel/later.jpg" 9 -Make=Sony -Model=A7IV "-DateTimeOriginal=2024:07:01 09:45:00"
if have_corpus raw; then
  cp "$PK_CORPORA/raw/Canon_PowerShot_G2_CRW_0304.CRW" "$rel/IMG_0304.CRW"
  make_jpeg "$rel/IMG_0304.JPG" 3 -Make=Canon "-Model=PowerShot G2" "-DateTimeOriginal=2022:01:20 08:13:24"
  make_jpeg "$rel/IMG_0305.JPG" 4 -Make=Canon "-Model=PowerShot G2" "-DateTimeOriginal=2022:01:20 09:00:00"
fi
run_pk index "$rel" --catalog "$SUITE_TMP/rel.db"
run_pk dupes --kind relations --json --catalog "$SUITE_TMP/rel.db"
expect "burst: the three frames one group" same_group burst burst_1.jpg burst_3.jpg
expect "burst: a frame 15 minutes later is not in it" [ "$(groups_with burst later.jpg)" = 0 ]
run_pk dupes --kind similar --json --catalog "$SUITE_TMP/rel.db"
expect "burst frames (same picture, other exposures) are not duplicates" [ "$(groups_with similar burst_1.jpg)" = 0 ]
if have_corpus raw; then
  run_pk dupes --kind relations --json --catalog "$SUITE_TMP/rel.db"
  expect "RAW+JPEG pair" same_group raw+jpeg IMG_0304.CRW IMG_0304.JPG
  expect "a JPEG of another time is not paired" [ "$(groups_with raw+jpeg IMG_0305.JPG)" = 0 ]
else
  skip "RAW+JPEG pair" "needs \$PK_CORPORA/raw (a real camera RAW file)"
fi

# ---- near-duplicate photos (corpus) ---------------------------------------------

if have_corpus image_neardup; then
  nd="$SUITE_TMP/neardup"
  mkdir -p "$nd"
  cp -r "$PK_CORPORA/image_neardup/imagededup" "$PK_CORPORA/image_neardup/obama_resolutions" "$nd/"
  run_pk index "$nd" --catalog "$SUITE_TMP/nd.db"
  expect "the corrupt file makes index exit 3" [ "$rc" -eq 3 ]
  expect "... reported as unreadable, by name" grep -q "ukbench09268_corrupt.jpg: unreadable or corrupt" "$err"
  expect "... without a crash" no_sanitizer_report
  run_pk catalog info --json --catalog "$SUITE_TMP/nd.db"
  expect "the other 22 files are catalogued" [ "$(results '.results[0].files')" = 23 ]
  run_pk dupes --kind similar --json --catalog "$SUITE_TMP/nd.db"
  expect "similar: resize grouped with the original" same_group similar ukbench00120.jpg ukbench00120_resize.jpg
  expect "similar: greyscale copy grouped" same_group similar ukbench00120.jpg ukbench00120_gray.jpg
  expect "similar: WebP re-encode grouped" same_group similar ukbench09380.jpg ukbench09380.webp
  expect "similar: 4 resolutions one group" same_group similar obama-240p.jpg obama-1080p.jpg
  expect "similar: 720p and 480p too" same_group similar obama-720p.jpg obama-480p.jpg
  expect "similar: keeper is the 1080p" [ "$(jq -r '.results[] | select(.others | map(.path) | any(endswith("obama-240p.jpg"))) | .keeper.path | split("/") | last' "$out")" = obama-1080p.jpg ]
  expect "without --rotations the flipped copy is not grouped" [ "$(groups_with similar ukbench00120_hflip.jpg)" = 0 ]
  neg=0
  for f in ukbench09348 ukbench09060 ukbench09040 ukbench01380 ukbench08976 ukbench08996 ukbench09012 ukbench09268; do
    neg=$((neg + $(groups_with similar "$f.jpg")))
  done
  expect "none of the unrelated images in any similar group" [ "$neg" = 0 ]
  run_pk dupes --kind exact --json --catalog "$SUITE_TMP/nd.db"
  expect "exact: same bytes in two folders" same_group exact ukbench09380.jpg ukbench09380.jpeg
  run_pk dupes --kind similar --rotations --json --catalog "$SUITE_TMP/nd.db"
  expect "--rotations: the mirrored copy grouped" same_group similar ukbench00120.jpg ukbench00120_hflip.jpg
  expect "--rotations: the rotated (and cropped) copy grouped" same_group similar ukbench00120.jpg ukbench00120_rotation.jpg
  neg=0
  for f in ukbench09348 ukbench09060 ukbench09040 ukbench01380 ukbench08976 ukbench08996 ukbench09012 ukbench09268; do
    neg=$((neg + $(groups_with similar "$f.jpg")))
  done
  expect "--rotations: still none of the unrelated images grouped" [ "$neg" = 0 ]

  # --apply: dry run, then act, then undo.
  before=$(find "$nd" -type f | sort | xargs sha256sum | sha256sum)
  run_pk dupes --apply --move-to "$SUITE_TMP/attic" --json --catalog "$SUITE_TMP/nd.db"
  expect "--apply is a dry run by default" [ "$(find "$nd" -type f | sort | xargs sha256sum | sha256sum)" = "$before" ]
  expect "... that says what it would move" [ "$(results '[.results[] | select(.dry_run)] | length')" -ge 5 ]
  run_pk dupes --apply --move-to "$SUITE_TMP/attic" --no-dry-run --json --catalog "$SUITE_TMP/nd.db"
  expect "--no-dry-run moves the non-keepers" test "$rc" -eq 0 -a -f "$SUITE_TMP/attic$nd/obama_resolutions/obama-240p.jpg"
  moved=$(results '[.results[] | select(.action == "moved")] | length')
  expect "... keeps the keepers" [ -f "$nd/obama_resolutions/obama-1080p.jpg" ]
  journal=$(results '.results[] | select(.journal) | .journal')
  expect "... after writing a journal" [ -s "$journal" ]
  run_pk dupes --kind exact --json --catalog "$SUITE_TMP/nd.db"
  expect "moved copies leave the duplicate list" [ "$(results '.results | length')" = 0 ]
  run_pk dupes --undo "$journal" --catalog "$SUITE_TMP/nd.db"
  expect "--undo restores every file" test "$rc" -eq 0 -a "$(find "$nd" -type f | sort | xargs sha256sum | sha256sum)" = "$before"
  run_pk index "$nd" --catalog "$SUITE_TMP/nd.db" --json
  expect "re-index after undo: the files are back, nothing new" \
    [ "$(results '.results[0] | "\(.back),\(.added)"')" = "$moved,0" ]
  run_pk dupes --apply --hardlink --no-dry-run --kind exact --json --catalog "$SUITE_TMP/nd.db"
  expect "--hardlink links exact copies" [ "$(stat -c %i "$nd/imagededup/base_images/ukbench09380.jpg")" = \
    "$(stat -c %i "$nd/imagededup/formats_images/ukbench09380.jpeg")" ]
  journal=$(results '.results[] | select(.journal) | .journal')
  run_pk dupes --undo "$journal" --catalog "$SUITE_TMP/nd.db"
  expect "--undo makes them separate files again" [ "$(stat -c %i "$nd/imagededup/base_images/ukbench09380.jpg")" != \
    "$(stat -c %i "$nd/imagededup/formats_images/ukbench09380.jpeg")" ]
  expect "... with the same bytes" [ "$(find "$nd" -type f | sort | xargs sha256sum | sha256sum)" = "$before" ]
else
  skip "image_neardup grouping" "needs \$PK_CORPORA/image_neardup"
fi

# ---- near-duplicate audio and video (corpus) ------------------------------------

# ---- EXIF orientation and the fingerprint version --------------------------------

# A 12-megapixel-like JPEG is decoded at 1/8 scale; its EXIF orientation
# must still turn it upright before the thumbnail and the fingerprints.
ori="$SUITE_TMP/orient"
mkdir -p "$ori"
ffmpeg -loglevel error -y -f lavfi -i "gradients=s=1800x2400:seed=7:n=5" -frames:v 1 "$ori/upright.jpg"
ffmpeg -loglevel error -y -i "$ori/upright.jpg" -vf transpose=2 -frames:v 1 "$ori/turned.jpg"
exiftool -q -overwrite_original -n -Orientation=6 "$ori/turned.jpg"
ffmpeg -loglevel error -y -f lavfi -i "gradients=s=1800x2400:seed=3:n=5" -vf hue=h=200 -frames:v 1 "$ori/other.jpg"
run_pk index "$ori" --catalog "$SUITE_TMP/ori.db"
expect "index of the oriented photos exits 0" [ "$rc" -eq 0 ]
run_pk dupes --kind similar --json --catalog "$SUITE_TMP/ori.db"
expect "a copy stored turned, with EXIF orientation 6, is similar to the upright one (no --rotations)" \
  same_group similar upright.jpg turned.jpg
expect "... and an unrelated picture is not" [ "$(groups_with similar other.jpg)" = 0 ]
thumb=$(sqlite3 "$SUITE_TMP/ori.db" "SELECT a.thumbnail FROM asset a JOIN location l ON l.asset_id = a.id
  WHERE l.name = 'turned.jpg'")
expect "its thumbnail is upright: 192x256" [ "$(vipsheader -f width "$thumb")x$(vipsheader -f height "$thumb")" = 192x256 ]
# A catalogue fingerprinted by an earlier definition: re-index recomputes.
sqlite3 "$SUITE_TMP/ori.db" "UPDATE producer SET version = 'old' WHERE name = 'image-print'"
current_prints() { sqlite3 "$SUITE_TMP/ori.db" "SELECT count(DISTINCT f.asset_id) FROM fingerprint f
  JOIN producer p ON p.id = f.producer_id WHERE p.name = 'image-print' AND p.version <> 'old' AND f.kind = 'phash'"; }
expect "(no print of the current definition before)" [ "$(current_prints)" = 0 ]
run_pk index "$ori" --catalog "$SUITE_TMP/ori.db"
expect "re-index fingerprints again what an older definition printed" [ "$rc" -eq 0 -a "$(current_prints)" = 3 ]
run_pk dupes --kind similar --json --catalog "$SUITE_TMP/ori.db"
expect "... and the copies are grouped again" same_group similar upright.jpg turned.jpg
# The fast JPEG path must not accept what the strict decoder refuses.
head -c 20000 "$ori/upright.jpg" >"$ori/truncated.jpg"
run_pk index "$ori" --catalog "$SUITE_TMP/ori.db"
expect "a truncated JPEG makes index exit 3" [ "$rc" -eq 3 ]
expect "... reported as unreadable, by name" grep -q "truncated.jpg: unreadable or corrupt picture" "$err"

if have_corpus audio_neardup; then
  au="$SUITE_TMP/audio"
  mkdir -p "$au"
  # The corpus holds headerless PCM; give each its header (format from the
  # MANIFEST) so it is a file a user could have.
  for v in stereo_44100:2 mono_44100:1 mono_11025:1 mono_8000:1; do
    name=${v%%:*} ch=${v##*:}
    ffmpeg -loglevel error -y -f s16le -ar "${name##*_}" -ac "$ch" \
      -i "$PK_CORPORA/audio_neardup/chromaprint_test_$name.raw" "$au/$name.wav"
  done
  ffmpeg -loglevel error -y -f lavfi -i "sine=f=660:d=2" -ar 44100 "$au/other_tone.wav"
  run_pk index "$au" --catalog "$SUITE_TMP/au.db"
  run_pk dupes --kind similar --json --catalog "$SUITE_TMP/au.db"
  expect "audio_neardup: the 4 versions (44.1/11.025/8 kHz, mono/stereo) one group" \
    test "$(jq '[.results[] | select(.kind == "similar")] | length' "$out")" = 1 -a \
    "$(jq '[.results[] | select(.kind == "similar") | .others | length] | add' "$out")" = 3
  expect "... keeper: the 44.1 kHz stereo file" \
    [ "$(jq -r '.results[0].keeper.path | split("/") | last' "$out")" = stereo_44100.wav ]
  expect "... another sound of the same length is not in it" [ "$(groups_with similar other_tone.wav)" = 0 ]
else
  skip "audio_neardup: 4 versions one group" "needs \$PK_CORPORA/audio_neardup"
fi

if have_corpus video_neardup; then
  vd="$SUITE_TMP/video"
  mkdir -p "$vd"
  cp "$PK_CORPORA"/video_neardup/videohash_rocket* "$vd/"
  ffmpeg -loglevel error -y -f lavfi -i "testsrc2=s=640x360:d=52:r=25" -c:v libvpx-vp9 -b:v 200k \
    -deadline realtime -cpu-used 8 "$vd/other.webm"
  run_pk index "$vd" --catalog "$SUITE_TMP/vd.db"
  expect "video index exits 0" [ "$rc" -eq 0 ]
  run_pk dupes --kind similar --json --catalog "$SUITE_TMP/vd.db"
  expect "video_neardup: the 3 encodings (VP9 mkv, VP9/Opus, VP8/Vorbis webm) one group" \
    same_group similar videohash_rocket.mkv videohash_rocket_3187a8a.webm
  expect "... all three" same_group similar videohash_rocket.mkv videohash_rocket_f5ecff1.webm
  expect "... a different clip of the same length and size is not in it" [ "$(groups_with similar other.webm)" = 0 ]
else
  skip "video_neardup: 3 encodings one group" "needs \$PK_CORPORA/video_neardup"
fi

# ---- kill -9, concurrency ---------------------------------------------------------

many="$SUITE_TMP/many"
mkdir -p "$many"
ffmpeg -loglevel error -f lavfi -i "testsrc2=s=320x240" -frames:v 240 -q:v 5 "$many/frame_%04d.jpg"
"$POSTKIT" index "$many" --catalog "$SUITE_TMP/kill.db" >/dev/null 2>&1 &
pid=$!
# Kill it once a few batches are committed (a reader may look meanwhile).
for _ in $(seq 600); do
  n=$("$POSTKIT" catalog info --json --catalog "$SUITE_TMP/kill.db" 2>/dev/null | jq -r '.results[0].files // 0' 2>/dev/null)
  [ "${n:-0}" -gt 0 ] && break
  sleep 0.1
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
run_pk catalog info --check --json --catalog "$SUITE_TMP/kill.db"
expect "after kill -9: integrity_check ok" [ "$(results '.results[0].integrity')" = ok ]
done_before=$(results '.results[0].files')
expect "the killed run had committed part of the work ($done_before of 240)" \
  test "${done_before:-0}" -gt 0 -a "${done_before:-0}" -lt 240
run_pk index "$many" --catalog "$SUITE_TMP/kill.db" --json
expect "the rerun completes" test "$rc" -eq 0 -a "$(results '.results[0].files')" = 240
expect "... and resumes (did not redo what was committed: $done_before kept)" \
  [ "$(results '.results[0].unchanged')" = "${done_before:-x}" ]
run_pk catalog info --json --catalog "$SUITE_TMP/kill.db"
expect "... 240 files catalogued" [ "$(results '.results[0].files')" = 240 ]

# Ctrl-C: stops at a safe point, keeps what was done, exit 130.
"$POSTKIT" index "$many" --catalog "$SUITE_TMP/int.db" >"$SUITE_TMP/int.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
  n=$("$POSTKIT" catalog info --json --catalog "$SUITE_TMP/int.db" 2>/dev/null | jq -r '.results[0].files // 0' 2>/dev/null)
  [ "${n:-0}" -gt 0 ] && break
  sleep 0.1
done
kill -INT "$pid" 2>/dev/null
wait "$pid"
int_rc=$?
if [ "$int_rc" -eq 0 ]; then
  skip "Ctrl-C stops index with exit 130" "this machine indexed the 240 files before the signal came"
else
  expect "Ctrl-C stops index with exit 130" [ "$int_rc" -eq 130 ]
fi
run_pk catalog info --check --json --catalog "$SUITE_TMP/int.db"
expect "... leaving a sound catalogue with what was done" \
  test "$(results '.results[0].integrity')" = ok -a "$(results '.results[0].files')" -gt 0

# Two index runs and searches at once on a fresh catalogue.
"$POSTKIT" index "$many" --catalog "$SUITE_TMP/conc.db" >"$SUITE_TMP/i1.out" 2>&1 &
p1=$!
"$POSTKIT" index "$many" --catalog "$SUITE_TMP/conc.db" >"$SUITE_TMP/i2.out" 2>&1 &
p2=$!
sleep 0.3
fails=0
for _ in $(seq 20); do
  "$POSTKIT" search frame --catalog "$SUITE_TMP/conc.db" -n 5 >/dev/null 2>>"$SUITE_TMP/s.err" || fails=$((fails + 1))
done
wait "$p1"; r1=$?
wait "$p2"; r2=$?
expect "two concurrent index runs both succeed" test "$r1" -eq 0 -a "$r2" -eq 0
expect "searches meanwhile never fail" [ "$fails" -eq 0 ]
expect "... never 'database is locked'" not_grep -i locked "$SUITE_TMP/s.err" "$SUITE_TMP/i1.out" "$SUITE_TMP/i2.out"
run_pk catalog info --check --json --catalog "$SUITE_TMP/conc.db"
expect "... one row per file, integrity ok" [ "$(results '.results[0] | "\(.files),\(.integrity)"')" = "240,ok" ]

finish
