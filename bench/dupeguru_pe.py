#!/usr/bin/python3
"""dupeGuru's picture mode without its window: the peer for `postkit dupes`.

Usage: bench/dupeguru_pe.py DIR [THRESHOLD]

Runs the scanner of the installed Debian package (/usr/share/dupeguru) the way
its application does for a "Contents" picture scan: the Qt photo class reads
the pictures (offscreen, no display needed), the block-matching engine
compares them at THRESHOLD percent (the application's default, 95), with
"match pictures of different dimensions" on, since resized copies are what
the benchmark asks about. Its caches (pictures' blocks, file digests) go to a fresh
temporary folder so every run pays for its decoding, as `postkit index` does on a new catalogue.
Prints one group per line, paths separated by spaces (the format of
findimagedupes), for the precision/recall scoring of bench/catalog.sh.
"""
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, "/usr/share/dupeguru")

from pathlib import Path  # noqa: E402

from PyQt5.QtWidgets import QApplication  # noqa: E402

from core import fs  # noqa: E402
from core.directories import Directories  # noqa: E402
from core.pe.scanner import ScannerPE  # noqa: E402
from core.scanner import ScanType  # noqa: E402
from qt.pe.photo import File as QtPhoto  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: dupeguru_pe.py DIR [THRESHOLD]")
    app = QApplication.instance() or QApplication([])  # QImage needs one
    directories = Directories()
    directories.add_path(Path(sys.argv[1]).resolve())
    files = list(directories.get_files(fileclasses=[QtPhoto]))
    scanner = ScannerPE()
    scanner.scan_type = ScanType.FUZZYBLOCK
    scanner.min_match_percentage = int(sys.argv[2]) if len(sys.argv) == 3 else 95
    scanner.match_scaled = True
    with tempfile.TemporaryDirectory() as cache:
        fs.filesdb.connect(os.path.join(cache, "hash_cache.db"))  # as the application does
        scanner.cache_path = os.path.join(cache, "cached_pictures.db")
        groups = scanner.get_dupe_groups(files)
        fs.filesdb.close()
    for g in groups:
        print(" ".join(str(f.path) for f in g))
    del app


if __name__ == "__main__":
    main()
