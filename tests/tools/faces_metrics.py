#!/usr/bin/env python3
"""faces_metrics.py — figures for the face tests, read from a catalogue.

  faces_metrics.py pairs CATALOG CSV... THRESHOLD
      verification accuracy on labelled pairs (deepface CSVs: file_x, file_y,
      Decision/decision), comparing the best face of each photo.
  faces_metrics.py clusters CATALOG LABELS
      pairwise precision and recall of people against identities; LABELS is
      a file of lines "IDENTITY file file ..." (file names).
  faces_metrics.py joined CATALOG LABELS
      for each identity, whether all its photos' best faces share a person.
  faces_metrics.py identities CSV...
      the identities as a LABELS file: the transitive closure of the pairs
      marked "Yes" (every file of the CSVs appears once).
  faces_metrics.py found CATALOG LABELS
      the share of the labelled photos in which at least one face was found.
  faces_metrics.py count CATALOG NAME
      the number of faces found in the file called NAME.
  faces_metrics.py incremental CATALOG TEST_LABELS
      photos added after the people were made from training photos (whose
      identity is the name of their folder, as in .../train/obama/x.jpg;
      TEST_LABELS: "file identity ...", every person seen in the file): for
      each expected identity, is one of the photo's faces in a person
      holding a training photo of that identity (joined), and is any face
      in a person of another identity only (wrong)?

Prints "name value" lines; only the standard library is used.
"""
import csv
import itertools
import math
import sqlite3
import struct
import sys


def best_faces(db):
    """file name -> (face id, person id, embedding) of its best face, of the
    current producer."""
    con = sqlite3.connect(db)
    prod = con.execute("SELECT value FROM meta WHERE key = 'faces_producer'").fetchone()[0]
    rows = con.execute(
        "SELECT l.name, f.id, f.person_id, f.embedding, f.score FROM face f "
        "JOIN location l ON l.asset_id = f.asset_id WHERE f.producer_id = ? "
        "ORDER BY f.score", (int(prod),)).fetchall()
    out = {}
    for name, fid, person, emb, _ in rows:  # ascending score: the best wins
        vec = struct.unpack('%df' % (len(emb) // 4), emb) if emb else None
        out[name] = (fid, person, vec)
    return out


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def labels(path):
    ids = {}
    for line in open(path):
        p = line.split()
        for f in p[1:]:
            ids[f] = p[0]
    return ids


def current_faces(db):
    """(file name, person id) of every face of the current producer."""
    con = sqlite3.connect(db)
    prod = con.execute("SELECT value FROM meta WHERE key = 'faces_producer'").fetchone()[0]
    return con.execute(
        "SELECT l.path, f.person_id FROM face f JOIN location l ON l.asset_id = f.asset_id "
        "WHERE f.producer_id = ?", (int(prod),)).fetchall()


def identities(csvs):
    parent = {}

    def root(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x
    for fn in csvs:
        for row in csv.DictReader(open(fn)):
            a, b = row['file_x'].split('/')[-1], row['file_y'].split('/')[-1]
            ra, rb = root(a), root(b)
            if (row.get('Decision') or row.get('decision')) == 'Yes' and ra != rb:
                parent[ra] = rb
    groups = {}
    for x in parent:
        groups.setdefault(root(x), []).append(x)
    for i, members in enumerate(sorted(groups.values(), key=lambda m: (-len(m), sorted(m)))):
        print('id%d %s' % (i, ' '.join(sorted(members))))


def main():
    what = sys.argv[1]
    if what == 'identities':
        identities(sys.argv[2:])
        return
    db = sys.argv[2]
    if what in ('found', 'count', 'incremental'):
        rows = current_faces(db)
        per_file = {}
        for path, person in rows:
            per_file.setdefault(path.split('/')[-1], []).append(person)
        if what == 'count':
            print(len(per_file.get(sys.argv[3], [])))
        elif what == 'found':
            ids = labels(sys.argv[3])
            print('%.4f' % (sum(1 for f in ids if per_file.get(f)) / len(ids)))
        else:
            who = {}  # person -> identities of its training photos
            for path, person in rows:
                parts = path.split('/')
                if len(parts) > 2 and parts[-3] == 'train' and person is not None:
                    who.setdefault(person, set()).add(parts[-2])
            joined = expected = wrong = 0
            for line in open(sys.argv[3]):
                p = line.split()
                persons = [x for x in per_file.get(p[0], []) if x is not None]
                for ident in p[1:]:
                    expected += 1
                    joined += any(ident in who.get(x, ()) for x in persons)
                wrong += sum(1 for x in persons if who.get(x) and not who[x] & set(p[1:]))
            print('joined %d/%d' % (joined, expected))
            print('wrong %d' % wrong)
        return
    faces = best_faces(db)
    if what == 'pairs':
        threshold = float(sys.argv[-1])
        for fn in sys.argv[3:-1]:
            right = total = missing = 0
            for row in csv.DictReader(open(fn)):
                a, b = row['file_x'].split('/')[-1], row['file_y'].split('/')[-1]
                same = (row.get('Decision') or row.get('decision')) == 'Yes'
                if a not in faces or b not in faces:
                    missing += 1
                    total += 1
                    continue
                right += (cosine(faces[a][2], faces[b][2]) >= threshold) == same
                total += 1
            print('%s %.4f' % (fn.split('/')[-1], right / total))
            print('%s_missing %d' % (fn.split('/')[-1], missing))
    elif what == 'clusters':
        ids = labels(sys.argv[3])
        files = [f for f in ids if f in faces]
        tp = fp = fn_ = 0
        for a, b in itertools.combinations(files, 2):
            same = ids[a] == ids[b]
            pa, pb = faces[a][1], faces[b][1]
            together = pa is not None and pa == pb
            tp += same and together
            fp += (not same) and together
            fn_ += same and not together
        print('precision %.4f' % (tp / (tp + fp) if tp + fp else 1.0))
        print('recall %.4f' % (tp / (tp + fn_) if tp + fn_ else 1.0))
        print('labelled_faces %d' % len(files))
        print('people %d' % len({faces[f][1] for f in files if faces[f][1] is not None}))
    elif what == 'joined':
        ids = labels(sys.argv[3])
        groups = {}
        for f, who in ids.items():
            groups.setdefault(who, []).append(faces[f][1] if f in faces else None)
        for who, persons in sorted(groups.items()):
            ok = persons[0] is not None and all(p == persons[0] for p in persons)
            print('%s %d' % (who, ok))


if __name__ == '__main__':
    main()
