#!/usr/bin/env python3
"""Matching throughput on the same files in the same run (issue 15).

On a fixed subset of report-split queries (every k-th, --count of them), one file at a
time, measures wall time of:
  - reelguard match (against the registered references), the candidate matching rate;
  - thorn's perception: FramewiseHasher(PHash(hash_size=16), 1 fps) hashing each file;
  - PDQ framewise at 1 fps with bench/peers.py's code (pdq_hashes with FPS=1);
  - FFmpeg's full decode: ffmpeg -threads 1 -i F -an -f null -, and default threads.
Rate = sum of video durations / sum of wall times (video seconds per wall second).
Run inside target/bench/venv (perception, numpy, pdqhash); a peer that cannot be
imported is reported, not fatal. Writes bench/results/throughput.md.

Usage: target/bench/venv/bin/python bench/throughput.py --bin BIN [--count 40]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import disguise  # noqa: E402
import references  # noqa: E402

ROOT = references.ROOT


def timed(fn):
    t = time.monotonic()
    fn()
    return time.monotonic() - t


def run(cmd):
    subprocess.run(cmd, check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--split", default="report")
    ap.add_argument("--perception-status", default="")
    a = ap.parse_args()
    binp = str(Path(a.bin).resolve())
    pool = references.load()
    refs = [e for e in pool if e["role"] == "ref"]
    man_p = disguise.WORK / a.split / "manifest.json"
    man = json.loads(man_p.read_text()) if man_p.exists() else disguise.generate(a.split)
    qs = man["queries"]
    step = max(1, len(qs) // a.count)
    sub = qs[::step][:a.count]
    files = [(q["path"], q["duration_s"]) for q in sub]
    total = sum(d for _, d in files)
    references.log(f"throughput: {len(files)} files, {total:.1f} s of video")

    rows, notes = [], []
    data = Path(tempfile.mkdtemp(prefix="throughput-", dir=str(disguise.WORK)))
    try:
        for r in refs:
            run([binp, "--data-dir", str(data), "register", r["path"], "--title", r["stem"], "--json"])
        t = sum(timed(lambda p=p: run([binp, "--data-dir", str(data), "match", p, "--json"])) for p, _ in files)
        rows.append(("reelguard match (candidate matching)", t))
    finally:
        shutil.rmtree(data, ignore_errors=True)

    try:
        if a.perception_status:
            raise RuntimeError(a.perception_status)
        from perception import hashers
        h = hashers.FramewiseHasher(frame_hasher=hashers.PHash(hash_size=16), interframe_threshold=-1,
                                    frames_per_second=1)
        t = sum(timed(lambda p=p: h.compute(p)) for p, _ in files)
        rows.append(("perception FramewiseHasher, PHash 16x16, 1 fps", t))
    except Exception as e:
        notes.append(f"perception: not available ({str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__})")
        references.log(notes[-1])

    try:
        import peers
        peers.FPS = 1
        t = sum(timed(lambda p=p: peers.pdq_hashes(p)) for p, _ in files)
        rows.append(("PDQ framewise 1 fps (bench/peers.py code)", t))
    except Exception as e:
        notes.append(f"PDQ baseline: not available ({type(e).__name__}: {e})")
        references.log(notes[-1])

    for label, th in [("FFmpeg full decode, -threads 1", ["-threads", "1"]), ("FFmpeg full decode, default threads", [])]:
        t = sum(timed(lambda p=p: run(["ffmpeg", "-nostdin", "-v", "error", *th, "-i", p, "-an", "-f", "null", "-"]))
                for p, _ in files)
        rows.append((label, t))

    rg = rows[0][1]
    dec = dict(rows).get("FFmpeg full decode, default threads")
    lines = ["# Matching throughput (same files, same run)", "",
             f"- Binary: `{a.bin}`; {len(files)} {a.split}-split queries (every {step}th), {total:.1f} s of video",
             f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
             f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}",
             "- One file at a time; rate = video seconds / wall seconds", "",
             "| tool | wall s | video s per wall s | time vs reelguard |", "|---|---|---|---|"]
    for name, t in rows:
        lines.append(f"| {name} | {t:.1f} | {total / t:.1f} | {t / rg:.2f}× |")
    if dec:
        lines.append(f"\nreelguard matching time / FFmpeg default-threads decode time: {rg / dec:.2f}× (bar ≤ 1.5×)")
    for n in notes:
        lines.append(f"\n- {n}")
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "throughput.md").write_text(text)


if __name__ == "__main__":
    main()
