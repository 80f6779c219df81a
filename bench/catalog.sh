#!/usr/bin/env bash
# bench/catalog.sh BUILD_DIR — the catalogue's Speed section (issue 5).
#
#   1. index N generated 12-megapixel JPEGs (real photos from the corpora,
#      upscaled/re-encoded at varied quality), photos/s, vs vipsthumbnail
#      over the same files on both cores;
#   2. exact duplicates on that tree vs jdupes -r and rdfind -dryrun true;
#   3. similar photos on image_neardup vs findimagedupes and dupeGuru's
#      picture mode (bench/dupeguru_pe.py: time, precision, recall over
#      labelled pairs), and on SIMILAR_PHOTOS (40) of the 12 MP photos;
#   4. re-index of an unchanged tree of FILES small files;
#   5. search over ROWS generated catalogue rows, hash query over HASHES,
#      transcript search over SENTENCES generated sentences.
# Sizes: PHOTOS (2000), FILES (100000), ROWS (500000), HASHES (1000000),
# SENTENCES (200000).
# Peak memory from /usr/bin/time. Prints a Markdown section for RESULTS.md.
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
pk="$build/postkit"
corpora=${PK_CORPORA:-$root/../shared/corpora}
work=${BENCH_TMP:-/tmp/pk-bench-catalog}
PHOTOS=${PHOTOS:-2000} FILES=${FILES:-100000} ROWS=${ROWS:-500000} HASHES=${HASHES:-1000000}
export XDG_CACHE_HOME="$work/cache"
mkdir -p "$work"

# "seconds peakKB" of a command.
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >"$work/cmd.out" 2>"$work/cmd.err"
  cat "$work/time.txt"
}

echo "## Catalogue (issue 5) — $(date -u +%Y-%m-%d), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "Machine shared with other jobs: compare the ratios of one run, not absolute times."
echo

# ---- 1. index 12 MP JPEGs ------------------------------------------------------
photos="$work/photos"
if [ "$(find "$photos" -name '*.jpg' 2>/dev/null | wc -l)" -lt "$PHOTOS" ]; then
  rm -rf "$photos" && mkdir -p "$photos"
  mapfile -t src < <(find "$corpora/tagging" "$corpora/color_exposure" "$corpora/faces/deepface" \
    -iname '*.jp*g' 2>/dev/null | grep -v "'" | sort)
  [ ${#src[@]} -gt 0 ] || { echo "no source photos in $corpora"; exit 3; }
  for i in $(seq 1 "$PHOTOS"); do
    s=${src[$((i % ${#src[@]}))]}
    echo "$s $photos/d$((i % 20))/p$i.jpg $((60 + i % 36))"
  done | xargs -P "$(nproc)" -n 3 sh -c 'mkdir -p "$(dirname "$1")" &&
    vips thumbnail "$0" "$1[Q=$2,strip]" 4000 --height 3000 --size force'
fi
n=$(find "$photos" -name '*.jpg' | wc -l)
rm -rf "$work/idx.db"* "$XDG_CACHE_HOME"
read -r t_idx m_idx < <(measure "$pk" index "$photos" --catalog "$work/idx.db")
rm -rf "$work/vt" && mkdir -p "$work/vt"
read -r t_vt m_vt < <(measure sh -c "find '$photos' -name '*.jpg' | xargs -P $(nproc) -n 50 vipsthumbnail -s 256 -o '$work/vt/%s.jpg'")
echo "### Index $n generated 12-megapixel JPEGs"
echo
echo "| command | time | photos/s | peak memory |"
echo "|---|---|---|---|"
echo "| \`postkit index\` (hash, SHA-256, probe, fingerprints, thumbnail) | ${t_idx} s | $(echo "$n / $t_idx" | bc -l | xargs printf '%.1f') | $((m_idx / 1024)) MB |"
echo "| \`vipsthumbnail -s 256\` alone, xargs -P $(nproc) | ${t_vt} s | $(echo "$n / $t_vt" | bc -l | xargs printf '%.1f') | $((m_vt / 1024)) MB |"
echo
echo "Ratio postkit / vipsthumbnail: $(echo "$t_idx / $t_vt" | bc -l | xargs printf '%.2f') (target <= 1.5)."
echo

# ---- 2. exact duplicates -----------------------------------------------------------
mkdir -p "$photos/copies"
find "$photos" -name 'p*0.jpg' -not -path '*/copies/*' | head -n $((n / 10)) | while read -r f; do
  cp -p "$f" "$photos/copies/$(basename "$f" .jpg)_copy.jpg"
done
"$pk" index "$photos" --catalog "$work/idx.db" >/dev/null 2>&1
read -r t_pd m_pd < <(measure "$pk" dupes --kind exact --json --catalog "$work/idx.db")
g_pd=$(jq '.results | length' "$work/cmd.out")
read -r t_jd m_jd < <(measure jdupes -r -q "$photos")
g_jd=$(grep -c '^$' "$work/cmd.out")
read -r t_rd m_rd < <(measure rdfind -dryrun true -outputname "$work/rdfind.txt" "$photos")
echo "### Exact duplicates over the same tree ($((n / 10)) copies added)"
echo
echo "| command | time | groups | peak memory |"
echo "|---|---|---|---|"
echo "| \`postkit dupes --kind exact\` (catalogue already indexed) | ${t_pd} s | $g_pd | $((m_pd / 1024)) MB |"
echo "| \`jdupes -r\` | ${t_jd} s | $g_jd | $((m_jd / 1024)) MB |"
echo "| \`rdfind -dryrun true\` | ${t_rd} s | $(grep -c DUPTYPE_FIRST_OCCURRENCE "$work/rdfind.txt") | $((m_rd / 1024)) MB |"
echo
echo "postkit answers from the catalogue (SHA-256 computed once at index time); jdupes and rdfind read the files each time."
echo

# ---- 3. similar photos vs findimagedupes -------------------------------------------
nd="$work/neardup"
rm -rf "$nd" && mkdir -p "$nd"
cp -r "$corpora/image_neardup/imagededup" "$corpora/image_neardup/obama_resolutions" "$nd/"
rm -f "$nd/imagededup/mixed_images/ukbench09268_corrupt.jpg" # findimagedupes stops on it
# Ground truth: files of one labelled group (basename prefix) are duplicates.
label() { case "$(basename "$1")" in ukbench00120*) echo g120;; ukbench09380*) echo g9380;; ukbench09268*) echo g9268;;
  obama-*) echo gobama;; *) basename "$1";; esac; }
score() { # file of groups, one per line, paths separated by spaces -> "precision recall"
  python3 - "$1" "$nd" <<'EOF'
import sys, itertools, os
groups = [l.split() for l in open(sys.argv[1]) if l.strip()]
def label(p):
    b = os.path.basename(p)
    for k in ("ukbench00120", "ukbench09380", "ukbench09268", "obama-"):
        if b.startswith(k): return k
    return b
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[2]) for f in fs]
truth = {frozenset(p) for p in itertools.combinations(files, 2) if label(p[0]) == label(p[1])}
found = {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}
tp = len(found & truth)
print("%.2f %.2f %d %d" % (tp / len(found) if found else 0, tp / len(truth), len(found), len(truth)))
EOF
}
rm -f "$work/nd.db"*
read -r t_pn m_pn < <(measure sh -c "'$pk' index '$nd' --catalog '$work/nd.db' >/dev/null && '$pk' dupes --rotations --json --catalog '$work/nd.db'")
jq -r '.results[] | select(.kind == "exact" or .kind == "similar") | [.keeper.path, (.others[].path)] | join(" ")' \
  "$work/cmd.out" >"$work/pk.groups"
# Merge exact and similar groups sharing a file into clusters.
python3 - "$work/pk.groups" <<'EOF' >"$work/pk.clusters"
import sys
parent = {}
def find(x):
    while parent.setdefault(x, x) != x: x = parent[x]
    return x
for l in open(sys.argv[1]):
    p = l.split()
    for q in p[1:]: parent[find(q)] = find(p[0])
groups = {}
for x in list(parent): groups.setdefault(find(x), []).append(x)
for g in groups.values(): print(" ".join(g))
EOF
read -r pk_p pk_r pk_found truth_n < <(score "$work/pk.clusters")
read -r t_fi m_fi < <(measure findimagedupes -R -q "$nd")
cp "$work/cmd.out" "$work/fi.groups"
read -r fi_p fi_r fi_found _ < <(score "$work/fi.groups")
# dupeGuru's picture mode ("Contents", default hardness 95, different
# dimensions matched), driven without its window; skipped when not installed.
dg=
[ -d /usr/share/dupeguru/core ] && /usr/bin/python3 -c 'import PyQt5' 2>/dev/null && dg="/usr/bin/python3 $root/bench/dupeguru_pe.py"
if [ -n "$dg" ]; then
  read -r t_dg m_dg < <(measure $dg "$nd")
  cp "$work/cmd.out" "$work/dg.groups"
  read -r dg_p dg_r dg_found _ < <(score "$work/dg.groups")
fi
echo "### Similar photos, image_neardup ($(find "$nd" -type f | wc -l) files, $truth_n labelled duplicate pairs)"
echo
echo "| command | time | precision | recall | peak memory |"
echo "|---|---|---|---|---|"
echo "| \`postkit index\` + \`dupes --rotations\` (from scratch) | ${t_pn} s | $pk_p | $pk_r | $((m_pn / 1024)) MB |"
echo "| \`findimagedupes -R\` (threshold 90%) | ${t_fi} s | $fi_p | $fi_r | $((m_fi / 1024)) MB |"
[ -n "$dg" ] && echo "| dupeGuru 4.3.1 picture mode (\`bench/dupeguru_pe.py\`, hardness 95) | ${t_dg} s | $dg_p | $dg_r | $((m_dg / 1024)) MB |"
echo
sub="$work/photos_sub"
rm -rf "$sub" && mkdir -p "$sub" && find "$photos" -name '*.jpg' -not -path '*/copies/*' | head -n "${SIMILAR_PHOTOS:-40}" | xargs -I{} cp {} "$sub/"
rm -f "$work/sub.db"*
read -r t_ps _ < <(measure sh -c "'$pk' index '$sub' --catalog '$work/sub.db' >/dev/null && '$pk' dupes --kind similar --catalog '$work/sub.db'")
read -r t_fs _ < <(measure findimagedupes -R -q "$sub")
echo "Speed at 12 MP, ${SIMILAR_PHOTOS:-40} photos from scratch: postkit index + dupes ${t_ps} s, findimagedupes ${t_fs} s (ratio $(echo "$t_fs / $t_ps" | bc -l | xargs printf '%.1f')x)."
if [ -n "$dg" ]; then
  read -r t_ds _ < <(measure $dg "$sub")
  echo "dupeGuru picture mode on the same photos: ${t_ds} s (ratio $(echo "$t_ds / $t_ps" | bc -l | xargs printf '%.1f')x)."
else
  echo "dupeGuru not measured: the Debian package \`dupeguru\` (with python3-pyqt5) is not installed."
fi
echo

# ---- 4. re-index an unchanged tree ---------------------------------------------------------
tree="$work/tree"
if [ "$(find "$tree" -name '*.pgm' 2>/dev/null | wc -l)" -lt "$FILES" ]; then
  rm -rf "$tree"
  python3 - "$tree" "$FILES" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "f%03d" % (i // 1000 % 100), "g%02d" % (i // 100 % 10))
    os.makedirs(d, exist_ok=True)
    px = bytes((i >> s) & 255 for s in (0, 8, 16)) + bytes(13)
    with open(os.path.join(d, "i%06d.pgm" % i), "wb") as f:
        f.write(b"P5 4 4 255\n" + px)
EOF
fi
rm -f "$work/tree.db"*
read -r t_first m_first < <(measure "$pk" index "$tree" --no-thumbnails --catalog "$work/tree.db")
read -r t_re m_re < <(measure "$pk" index "$tree" --catalog "$work/tree.db")
read -r t_re2 _ < <(measure "$pk" index "$tree" --catalog "$work/tree.db")
echo "### Re-index of an unchanged tree of $FILES small files"
echo
echo "| run | time | peak memory |"
echo "|---|---|---|"
echo "| first index (every file read, hashed, probed, fingerprinted) | ${t_first} s | $((m_first / 1024)) MB |"
echo "| re-index, nothing changed | ${t_re} s, ${t_re2} s | $((m_re / 1024)) MB |"
echo

# ---- 5. search and hash queries ---------------------------------------------------------------
db="$work/rows-v5.db"
if [ ! -s "$db" ]; then
  # A photographer's catalogue: events, cameras, renamed files, copies, a
  # missing drive; full text written by the index's own code.
  "$build/catalog_bench" gen "$db" "$ROWS" 2>/dev/null || { echo "catalog_bench gen failed"; exit 1; }
fi
echo "### Search over $ROWS rows and Hamming queries over $HASHES hashes (in-process: bench/catalog_bench)"
echo
echo '```'
"$build/catalog_bench" search "$db" 15 "iceland" "iceland 2019" "IMG_4242" "canon type:photo" \
  "wedding" "portrait" "type:video duration:>60s width:>=3840" "date:2024-06..2024-08" "camera:canon" \
  "paris camera:nikon date:2015" "sunset type:video" "missing:yes" "dupe:yes type:video" \
  "canon missing:yes" "img width:>=9000" "dsc duration:>300s" "iceland dupe:yes" \
  "img width:>4000" "portrait height:<=4000" "wedding duration:>=60.5s"
"$build/catalog_bench" hash "$HASHES" 8 500
echo '```'
echo
# Transcripts (issue 8): SENTENCES sentences, 100 per asset, on a copy.
tdb="$work/rows-transcripts.db"
if [ ! -s "$tdb" ]; then
  cp "$db" "$tdb" && "$build/catalog_bench" gen-transcripts "$tdb" "${SENTENCES:-200000}" 2>/dev/null ||
    { echo "catalog_bench gen-transcripts failed"; exit 1; }
fi
echo "### Transcript search, ${SENTENCES:-200000} sentences (one in seven holds each query's words)"
echo
echo '```'
"$build/catalog_bench" search "$tdb" 15 '"fellow americans"' "budget type:video" "wedding" "americans" "iceland"
echo '```'
echo
read -r t_cli _ < <(measure "$pk" search iceland --catalog "$db")
read -r t_ver _ < <(measure "$pk" --version)
echo "Whole command \`postkit search iceland\`: ${t_cli} s, of which process start-up (\`postkit --version\`) ${t_ver} s."
