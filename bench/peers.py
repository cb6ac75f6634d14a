#!/usr/bin/env python3
"""Open baselines on the same queries, side by side with reelguard.

- PDQ framewise: frames at 2 fps (ffmpeg rawvideo pipe), pdqhash.compute per
  frame, brute-force Hamming match against every reference frame (distance
  <= 31, Meta's recommended threshold); a reference matches when >= 2 query
  frames hit it.
- PDQ+dihedral: the same with pdqhash.compute_dihedral on the query frames
  (the best of the 8 rotations/flips counts), for mirror robustness.
- vpdq (when installed): vpdq.computeHash at one hash per 0.5 s and the
  brute-force matcher of Meta's ThreatExchange with its defaults (quality >= 50,
  distance <= 31, query-match >= 80 %).
Frames of PDQ quality < 50 are ignored, as Meta recommends.
Runs inside target/bench/venv (numpy, pdqhash). Writes target/bench/peers.{md,json}.
"""

import argparse
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pdqhash

from benchlib import (DISTRACTOR, ROOT, WORK, fmt, load_manifest, log, loc_error, md_table, ordered,
                      probe, score)

FPS = 2
MAX_SIDE = 512  # frames are downscaled to fit 512x512 before hashing
PDQ_DIST = 31
PDQ_QUALITY = 50
MIN_HITS = 2
VPDQ_QUERY_PCT = 80.0
POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def frames(path):
    """Decoded frames at FPS, as an (n, h, w, 3) uint8 array, and their times."""
    _, w, h = probe(path)
    s = min(1.0, MAX_SIDE / max(w, h))
    w2, h2 = max(2, int(w * s) // 2 * 2), max(2, int(h * s) // 2 * 2)
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-an",
         "-vf", f"fps={FPS},scale={w2}:{h2}", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True).stdout
    arr = np.frombuffer(raw, dtype=np.uint8).reshape(-1, h2, w2, 3)
    return arr, np.arange(len(arr)) / FPS


def pdq_hashes(path):
    """(hashes (n, 8, 32) packed dihedral variants, times (n,)) of good-quality frames."""
    arr, times = frames(path)
    keep, hs = [], []
    for i, img in enumerate(arr):
        variants, quality = pdqhash.compute_dihedral(np.ascontiguousarray(img))
        if quality >= PDQ_QUALITY:
            keep.append(i)
            hs.append(np.packbits(np.array(variants, dtype=np.uint8), axis=-1))
    if not hs:
        return np.zeros((0, 8, 32), np.uint8), np.zeros(0)
    return np.stack(hs), times[keep]


def pdq_match(q, refs, dihedral):
    """Titles matched by a query (most hits first) and localisation guesses."""
    qh, qt = q
    found = []
    for title, (rh, rt) in refs.items():
        if len(qh) == 0 or len(rh) == 0:
            continue
        qv = qh if dihedral else qh[:, :1]              # (nq, v, 32)
        d = POPCOUNT[qv[:, :, None, :] ^ rh[None, None, :, 0, :]].sum(-1).min(1)  # (nq, nr)
        hit = d.min(1) <= PDQ_DIST
        if hit.sum() >= MIN_HITS:
            wt = rt[d.argmin(1)[hit]]
            seg = {"query_start_s": qt[hit].min(), "query_end_s": qt[hit].max(),
                   "work_start_s": wt.min(), "work_end_s": wt.max()}
            found.append((int(hit.sum()), title, seg))
    found.sort(key=lambda x: -x[0])
    return found


def vpdq_features(vpdq, path):
    """Unique hashes of quality >= 50, as in ThreatExchange's brute matcher."""
    seen, out = set(), []
    for f in vpdq.computeHash(str(path), seconds_per_hash=1.0 / FPS):
        if f.quality >= PDQ_QUALITY and f.hex not in seen:
            seen.add(f.hex)
            out.append(np.frombuffer(bytes.fromhex(f.hex), dtype=np.uint8))
    return np.stack(out) if out else np.zeros((0, 32), np.uint8)


def vpdq_match(q, refs):
    found = []
    for title, r in refs.items():
        if len(q) == 0 or len(r) == 0:
            continue
        d = POPCOUNT[q[:, None, :] ^ r[None, :, :]].sum(-1)
        q_pct = 100.0 * (d.min(1) <= PDQ_DIST).mean()
        if q_pct >= VPDQ_QUERY_PCT:  # (target-match threshold is 0 %)
            found.append((q_pct, title, None))
    found.sort(key=lambda x: -x[0])
    return found


def evaluate(man, hasher, matcher):
    """Hash references and queries, match, and score like accuracy.py does."""
    t0 = time.monotonic()
    refs = {r["title"]: hasher(ROOT / r["path"]) for r in man["references"]}
    results = {}
    for q in man["queries"]:
        found = matcher(hasher(ROOT / q["path"]), refs)
        titles = [t for _, t, _ in found]
        loc = None
        for _, t, seg in found:
            if t == q["expected"] and seg is not None:
                loc = loc_error(q["truth"], seg)
        results[q["path"]] = {"titles": titles, "loc": loc}
    return score(man["queries"], results), results, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vpdq-status", default="", help="why vpdq could not be installed, if it could not")
    args = ap.parse_args()
    man = load_manifest()
    runs, notes = {}, []

    # PDQ variants share one hashing pass per file; decode two files at a time.
    paths = [ROOT / x["path"] for x in man["references"] + man["queries"]]
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        cache = dict(zip(paths, pool.map(pdq_hashes, paths)))
    log(f"peers: PDQ hashing of {len(paths)} files: {time.monotonic() - t0:.0f} s")

    def hasher(path):
        if path not in cache:
            cache[path] = pdq_hashes(path)
        return cache[path]

    for name, dihedral in [("PDQ", False), ("PDQ+dihedral", True)]:
        rows, res, dt = evaluate(man, hasher, lambda q, refs, d=dihedral: pdq_match(q, refs, d))
        runs[name] = {"families": rows, "results": res}
        log(f"peers: {name}: recall {rows['overall']['recall']:.2f}, FP {rows['overall']['fp']} ({dt:.0f} s)")

    try:
        if args.vpdq_status:
            raise RuntimeError(args.vpdq_status)
        import vpdq
        rows, res, dt = evaluate(man, lambda p: vpdq_features(vpdq, p), vpdq_match)
        runs["vpdq"] = {"families": rows, "results": res}
        log(f"peers: vpdq: recall {rows['overall']['recall']:.2f}, FP {rows['overall']['fp']} ({dt:.0f} s)")
    except Exception as e:  # not installed, or fails to run
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        notes.append(f"vpdq: not available ({reason})")
        log(notes[-1])

    # reelguard's numbers come from accuracy.py's run.
    acc = WORK / "accuracy.json"
    if acc.exists():
        runs = {"reelguard": {"families": json.loads(acc.read_text())["families"]}, **runs}
    else:
        notes.append("reelguard: no accuracy results (target/bench/accuracy.json missing)")
    names = ["reelguard", "PDQ", "PDQ+dihedral", "vpdq"]
    all_rows = set().union(*(r["families"] for r in runs.values()))
    table = []
    for fam in ordered({f: 1 for f in all_rows}):
        if fam == DISTRACTOR:
            continue
        table.append([fam] + [fmt(runs[n]["families"].get(fam, {}).get("recall")) if n in runs else "n/a"
                              for n in names])
    table.append(["**overall recall**"] + [fmt(runs[n]["families"]["overall"]["recall"]) if n in runs else "n/a"
                                           for n in names])
    table.append(["**false positives**"] + [str(runs[n]["families"]["overall"]["fp"]) if n in runs else "n/a"
                                            for n in names])
    table.append(["loc err mean (s)"] + [fmt(runs[n]["families"]["overall"]["loc_mean"]) if n in runs else "n/a"
                                         for n in names])
    md = "\n".join([
        md_table(["family", "reelguard recall", "PDQ recall", "PDQ+dihedral recall", "vpdq recall"], table),
        "",
        f"PDQ: frames at {FPS} fps, Hamming ≤ {PDQ_DIST}, quality ≥ {PDQ_QUALITY}, a reference matches on "
        f"≥ {MIN_HITS} hit frames; localisation from the first/last hit. vpdq: one hash per {1 / FPS:g} s, "
        f"ThreatExchange brute-force matching (query-match ≥ {VPDQ_QUERY_PCT:g} %), no localisation.",
    ] + ([""] + notes if notes else [])) + "\n"
    (WORK / "peers.md").write_text(md)
    (WORK / "peers.json").write_text(json.dumps(
        {n: r["families"] for n, r in runs.items()} | {"notes": notes}, indent=1, default=float))
    print(md)


if __name__ == "__main__":
    main()
