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


def main():
    what, db = sys.argv[1], sys.argv[2]
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
