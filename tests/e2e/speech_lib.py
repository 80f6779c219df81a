#!/usr/bin/python3
"""Helpers for tests/e2e/speech.sh and cut.sh: build test audio with speech
at known places, read subtitles and edit exports back. Standard library and
numpy only (Debian's python3-numpy).

    speech_lib.py vad-clip OUT.wav TRUTH.json CLIP.wav...
        silence, clip, silence, clip, ... (silences 1.0, 2.0, 1.5, 1.0 s, ...);
        TRUTH lists each clip's start/end and each silence.
    speech_lib.py word-clip OUT.wav WORDS.json RATE TONE_HZ WORD=CLIP.wav...
        the words in order, each starting on a 40 ms frame boundary and padded
        to one, 0.4 s apart after a 0.48 s lead; a transcript JSON of exact
        times; TONE_HZ > 0 adds a continuous tone at -20 dBFS under it all.
    speech_lib.py cues FILE.srt|.vtt
        prints each cue as "start end" seconds.
    speech_lib.py edl|fcpxml|otio FILE FPS
        prints each clip's source range as "start_frame end_frame".
    speech_lib.py max-jump RAW_F32 RATE TIMES_JSON WINDOW
        the largest sample-to-sample step within WINDOW seconds of each time.
"""
import json
import re
import struct
import sys
import wave
import xml.etree.ElementTree as ET

import numpy as np


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, path
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        return data, w.getframerate()


def write_wav(path, samples, rate):
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def vad_clip(out, truth_path, clips):
    silences = [1.0, 2.0, 1.5, 1.0, 1.2, 1.8]
    parts, truth, at, rate = [], {"speech": [], "silence": []}, 0, None
    for i, c in enumerate(clips):
        x, rate = read_wav(c)
        gap = int(silences[i % len(silences)] * rate)
        parts.append(np.zeros(gap))
        truth["silence"].append([at / rate, (at + gap) / rate])
        at += gap
        parts.append(x)
        truth["speech"].append([at / rate, (at + len(x)) / rate])
        at += len(x)
    gap = int(silences[len(clips) % len(silences)] * rate)
    parts.append(np.zeros(gap))
    truth["silence"].append([at / rate, (at + gap) / rate])
    write_wav(out, np.concatenate(parts), rate)
    json.dump(truth, open(truth_path, "w"))


def word_clip(out, words_path, rate, tone_hz, items):
    frame = int(rate * 0.04)
    lead, gap = 12 * frame, 10 * frame
    parts, words, at = [np.zeros(lead)], [], lead
    for item in items:
        word, path = item.split("=", 1)
        x, r = read_wav(path)
        assert r == rate, (path, r)
        padded = -(-len(x) // frame) * frame
        parts.append(np.concatenate([x, np.zeros(padded - len(x))]))
        words.append({"text": word, "start": at / rate, "end": (at + padded) / rate, "confidence": 1.0})
        at += padded
        parts.append(np.zeros(gap))
        at += gap
    audio = np.concatenate(parts)
    if tone_hz > 0:
        audio = audio + 0.1 * np.sin(2 * np.pi * tone_hz * np.arange(len(audio)) / rate)
    write_wav(out, audio, rate)
    doc = {"format": "postkit-transcript", "version": 1, "source": out, "duration": len(audio) / rate,
           "time_offset": 0, "engine": {"name": "test", "model": "known words", "model_version": "",
                                        "model_sha256": "", "punctuated": False},
           "speech_segments": [], "sentences": [], "words": words}
    json.dump(doc, open(words_path, "w"), indent=1)


def parse_ts(s):
    parts = s.replace(",", ".").split(":")
    v = 0.0
    for p in parts:
        v = v * 60 + float(p)
    return v


def cues(path):
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^\s*([\d:.,]+)\s+-->\s+([\d:.,]+)", line)
        if m:
            print(f"{parse_ts(m.group(1)):.3f} {parse_ts(m.group(2)):.3f}")


def tc_frames(tc, base):
    h, m, s, f = (int(v) for v in tc.split(":"))
    return ((h * 60 + m) * 60 + s) * base + f


def edl(path, fps):
    base = round(fps)
    for line in open(path):
        m = re.match(r"^\d{3}\s+\S+\s+\S+\s+C\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", line)
        if m:
            print(tc_frames(m.group(1), base), tc_frames(m.group(2), base))


def fcp_frames(value, fps):
    value = value.rstrip("s")
    if "/" in value:
        n, d = value.split("/")
        seconds = int(n) / int(d)
    else:
        seconds = float(value)
    return round(seconds * fps)


def fcpxml(path, fps):
    root = ET.parse(path).getroot()
    assert root.tag == "fcpxml" and float(root.get("version")) >= 1.9
    for clip in root.iter("asset-clip"):
        s = fcp_frames(clip.get("start"), fps)
        print(s, s + fcp_frames(clip.get("duration"), fps))


def otio(path, fps):
    doc = json.load(open(path))
    assert doc["OTIO_SCHEMA"].startswith("Timeline.")
    track = doc["tracks"]["children"][0]
    for clip in track["children"]:
        r = clip["source_range"]
        s = round(r["start_time"]["value"] * fps / r["start_time"]["rate"])
        d = round(r["duration"]["value"] * fps / r["duration"]["rate"])
        print(s, s + d)


def max_jump(raw, rate, times_path, window):
    x = np.fromfile(raw, dtype="<f4")
    d = np.abs(np.diff(x))
    worst = 0.0
    for t in json.load(open(times_path)):
        a, b = max(0, int((t - window) * rate)), min(len(d), int((t + window) * rate))
        if b > a:
            worst = max(worst, float(d[a:b].max()))
    print(f"{worst:.6f}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "vad-clip":
        vad_clip(args[0], args[1], args[2:])
    elif cmd == "word-clip":
        word_clip(args[0], args[1], int(args[2]), float(args[3]), args[4:])
    elif cmd == "cues":
        cues(args[0])
    elif cmd in ("edl", "fcpxml", "otio"):
        {"edl": edl, "fcpxml": fcpxml, "otio": otio}[cmd](args[0], float(args[1]))
    elif cmd == "max-jump":
        max_jump(args[0], int(args[1]), args[2], float(args[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
