#!/usr/bin/env python3
"""Held-out evaluation of a reelguard binary on a disguise split.

Registers every reference of bench/references.py in a fresh data dir, matches every
query of the split (bench/disguise.py, generated if missing) with a thread pool of 2,
and scores:
  found  = some entry names the expected work (by title) with a work interval
           overlapping the truth's;
  FP     = an entry naming any other work, or any entry for a distractor query;
  loc    = on partial/embedded: max abs error of the 4 segment bounds of the best
           (highest score) right-work entry.
Writes bench/results/heldout-<split>.md and target/bench/heldout/<split>-results.json.
The development splits (tune, and dev: a second seed for checking that a change tuned
on tune carries to queries it was not tuned on) also get a per-query detail file
(target/bench/heldout/<split>-detail.md) and may be run on a subset of classes; the
report split is run whole and never prints or writes per-query details.

Usage: python3 bench/heldout.py --bin BIN --split tune|dev|report [--classes a,b]
Standard library only.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import disguise  # noqa: E402
import references  # noqa: E402

ROOT = references.ROOT
BAR_OVERALL, BAR_CLASS, BAR_FP, BAR_LOC = 0.95, 0.90, 0, 1.0
LOC_CLASSES = ("partial", "embedded")


def sh(cmd):
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r, time.monotonic() - t


def overlaps(e, t):
    return min(e["work_end_s"], t["work_end_s"]) - max(e["work_start_s"], t["work_start_s"]) > 0


def score_query(q, matches):
    """(found, fps, loc_error or None)."""
    ms = matches or []
    if q["reference"] is None:
        return False, len(ms), None
    right = [m for m in ms if m.get("title") == q["reference"]]
    fps = len([m for m in ms if m.get("title") != q["reference"]])
    hit = [m for m in right if overlaps(m, q["truth"])]
    loc = None
    if hit and q["class"] in LOC_CLASSES:
        b = max(hit, key=lambda m: m.get("score", 0))
        t = q["truth"]
        loc = max(abs(b[k] - t[k]) for k in ("query_start_s", "query_end_s", "work_start_s", "work_end_s"))
    return bool(hit), fps, loc


def fmt(x, nd=2):
    return "–" if x is None else f"{x:.{nd}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--split", choices=list(disguise.SEEDS), required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--label", default="")
    ap.add_argument("--classes", default="",
                    help="comma-separated classes to run (tune and dev splits only); the table then goes "
                         "to target/bench/heldout/<split>-subset.md, not bench/results")
    a = ap.parse_args()
    subset = [c for c in a.classes.split(",") if c]
    if subset and a.split == "report":
        sys.exit("heldout: --classes is for the tune and dev splits only (the report split is run whole)")
    if unknown := [c for c in subset if c not in disguise.CLASSES]:
        sys.exit(f"heldout: unknown classes {unknown}; known: {', '.join(disguise.CLASSES)}")
    binp = str(Path(a.bin).resolve())
    t0 = time.monotonic()
    pool = references.load()
    refs = [e for e in pool if e["role"] == "ref"]
    man_p = disguise.WORK / a.split / "manifest.json"
    man = json.loads(man_p.read_text()) if man_p.exists() else disguise.generate(a.split)
    if any(not Path(q["path"]).exists() for q in man["queries"]):
        man = disguise.generate(a.split, man.get("per_class", 15))
    queries = [q for q in man["queries"] if not subset or q["class"] in subset]

    data = Path(tempfile.mkdtemp(prefix=f"heldout-{a.split}-", dir=str(disguise.WORK)))
    try:
        reg_t = 0.0
        for r in refs:
            res, dt = sh([binp, "--data-dir", str(data), "register", r["path"], "--title", r["stem"], "--json"])
            reg_t += dt
            if res.returncode != 0:
                sys.exit(f"heldout: register {r['stem']} failed: {res.stderr[-400:]}")
        references.log(f"heldout[{a.split}]: registered {len(refs)} works in {reg_t:.1f} s")

        def one(q):
            res, dt = sh([binp, "--data-dir", str(data), "match", q["path"], "--json"])
            if res.returncode != 0:
                return q, None, dt, res.stderr[-300:]
            try:
                return q, json.loads(res.stdout).get("matches", []), dt, None
            except json.JSONDecodeError:
                return q, None, dt, "bad json"

        with ThreadPoolExecutor(a.jobs) as ex:
            results = list(ex.map(one, queries))
    finally:
        shutil.rmtree(data, ignore_errors=True)

    per = {}
    detail = []
    errors = 0
    match_t = 0.0
    for q, ms, dt, err in results:
        match_t += dt
        if err:
            errors += 1
        found, fps, loc = score_query(q, ms)
        c = per.setdefault(q["class"], {"total": 0, "found": 0, "fp": 0, "fp_queries": 0, "locs": [],
                                        "errors": 0})
        c["total"] += 1
        c["found"] += found
        c["fp"] += fps
        c["fp_queries"] += fps > 0
        c["errors"] += bool(err)
        if loc is not None:
            c["locs"].append(loc)
        detail.append((q, ms, found, fps, loc, err))

    classes = [c for c in disguise.CLASSES if c in per]
    pos = [c for c in classes if c != "distractor_layout"]
    tot = sum(per[c]["total"] for c in pos)
    fnd = sum(per[c]["found"] for c in pos)
    fp = sum(per[c]["fp"] for c in classes)
    fpq = sum(per[c]["fp_queries"] for c in classes)
    locs = [x for c in classes for x in per[c]["locs"]]
    overall = fnd / tot if tot else 0.0
    min_class = min((per[c]["found"] / per[c]["total"] for c in pos), default=0.0)
    loc_max = max(locs) if locs else None
    loc_missing = sum(per[c]["total"] - len(per[c]["locs"]) for c in LOC_CLASSES if c in per)

    lines = [f"# Held-out evaluation, {a.split} split (seed {man['seed']})", "",
             f"- Binary: `{a.bin}`{(' (' + a.label + ')') if a.label else ''}",
             f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"- {len(refs)} references registered, {len(queries)} queries "
             f"({man['per_class']} per class), {errors} match errors",
             f"- Wall time: {time.monotonic() - t0:.0f} s (register {reg_t:.0f} s, match {match_t:.0f} s summed "
             f"over {a.jobs} workers)", "",
             "| class | recall | found/total | FP entries | FP queries | loc err max (s) | loc err mean (s) |",
             "|---|---|---|---|---|---|---|"]
    for c in classes:
        d = per[c]
        rec = "–" if c == "distractor_layout" else f"{d['found'] / d['total']:.2f}"
        ft = "–" if c == "distractor_layout" else f"{d['found']}/{d['total']}"
        lm = max(d["locs"]) if d["locs"] else None
        lmean = sum(d["locs"]) / len(d["locs"]) if d["locs"] else None
        lines.append(f"| {c} | {rec} | {ft} | {d['fp']} | {d['fp_queries']}/{d['total']} | {fmt(lm)} | {fmt(lmean)} |")
    lines.append(f"| **overall** | **{overall:.2f}** | {fnd}/{tot} | {fp} | {fpq}/{len(queries)} | {fmt(loc_max)} | "
                 f"{fmt(sum(locs) / len(locs) if locs else None)} |")
    ok = {
        "overall recall >= 0.95": overall >= BAR_OVERALL,
        "every class recall >= 0.90": min_class >= BAR_CLASS,
        "0 false positives (incl. distractor layouts)": fp <= BAR_FP,
        "localisation within ±1 s on partial/embedded (all found, max error)":
            loc_max is not None and loc_max <= BAR_LOC and loc_missing == 0,
    }
    lines += ["", "Bar (issue 15, report split):", ""]
    for k, v in ok.items():
        lines.append(f"- {'PASS' if v else 'FAIL'}: {k}")
    lines.append(f"\nMinimum class recall: {min_class:.2f}; overall {overall:.2f}; FP entries {fp}; "
                 f"loc max {fmt(loc_max)} s ({loc_missing} partial/embedded queries not found).")
    text = "\n".join(lines) + "\n"
    print(text)
    out = disguise.WORK / f"{a.split}-subset.md" if subset else ROOT / "bench" / "results" / f"heldout-{a.split}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    agg = {"split": a.split, "seed": man["seed"], "bin": a.bin, "overall_recall": overall,
           "min_class_recall": min_class, "fp_entries": fp, "fp_queries": fpq, "loc_max_s": loc_max,
           "errors": errors, "match_wall_s_summed": match_t,
           "classes": {c: {k: v for k, v in per[c].items() if k != "locs"} |
                       {"loc_max_s": max(per[c]["locs"]) if per[c]["locs"] else None} for c in classes},
           "bar": ok}
    (disguise.WORK / f"{a.split}{'-subset' if subset else ''}-results.json").write_text(json.dumps(agg, indent=1))
    if a.split != "report":
        dl = [f"# {a.split.capitalize()} split: per-query detail", ""]
        for q, ms, found, fps, loc, err in detail:
            verdict = ("FOUND" if found else "MISSED") if q["reference"] else ("FP" if fps else "ok (no match)")
            dl.append(f"## {q['class']} #{q['index']} — {verdict}")
            dl.append(f"- file: `{q['path']}` ({q['duration_s']} s)")
            dl.append(f"- reference: {q['reference'] or ('distractor ' + q.get('distractor', ''))}; truth: {q['truth']}")
            dl.append(f"- params: `{json.dumps(q['params'])}`")
            if err:
                dl.append(f"- error: {err}")
            for m in ms or []:
                dl.append(f"- got: {m.get('title')} score {m.get('score')} q[{m.get('query_start_s')}, "
                          f"{m.get('query_end_s')}] w[{m.get('work_start_s')}, {m.get('work_end_s')}]")
            if loc is not None:
                dl.append(f"- loc error: {loc:.2f} s")
            dl.append("")
        detail_path = disguise.WORK / (f"{a.split}-subset-detail.md" if subset else f"{a.split}-detail.md")
        detail_path.write_text("\n".join(dl))
        references.log(f"heldout: per-query detail in {detail_path}")


if __name__ == "__main__":
    main()
