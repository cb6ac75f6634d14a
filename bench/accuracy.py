#!/usr/bin/env python3
"""Accuracy of the reelguard engine on the generated queries.

Registers every reference in a fresh data dir, runs `reelguard match --json` on
every query, and scores recall / false positives / localisation per family.
Writes target/bench/accuracy.json and target/bench/accuracy.md; prints the table.
Standard library only.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time

from benchlib import (BAR_FP, BAR_LOC_S, BAR_RECALL_FAMILY, BAR_RECALL_OVERALL, DISTRACTOR, ROOT,
                      WORK, fmt, load_manifest, log, loc_error, md_table, ordered, score)

TIMEOUT_S = 600


def reelguard(binary, data_dir, *args):
    """Run the CLI; return (parsed JSON or None, error text or None, seconds)."""
    cmd = [binary, "--data-dir", str(data_dir), *args, "--json"]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT_S} s", TIMEOUT_S
    dt = time.monotonic() - t0
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {r.stderr.strip()[-500:]}", dt
    try:
        return json.loads(r.stdout), None, dt
    except json.JSONDecodeError:
        return None, f"stdout is not JSON: {r.stdout[:200]!r}", dt


def family_ok(row, overall=False):
    bar = BAR_RECALL_OVERALL if overall else BAR_RECALL_FAMILY
    ok = row["fp"] <= BAR_FP and (row["loc_max"] is None or row["loc_max"] <= BAR_LOC_S)
    if row["recall"] is not None:
        ok = ok and row["recall"] >= bar
    return ok


def describe(entries):
    if not entries:
        return "no match"
    return "; ".join(
        f"{e.get('title')} score {e.get('score', 0):.2f} q[{e.get('query_start_s', 0):.1f}-"
        f"{e.get('query_end_s', 0):.1f}] w[{e.get('work_start_s', 0):.1f}-{e.get('work_end_s', 0):.1f}] "
        f"{e.get('matched_frames')} fr" for e in entries[:4]) + (" …" if len(entries) > 4 else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "reelguard"))
    args = ap.parse_args()
    man = load_manifest()
    data = WORK / "data-accuracy"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)

    # Register the references.
    titles, reg_times = {}, []
    for ref in man["references"]:
        out, err, dt = reelguard(args.bin, data, "register", str(ROOT / ref["path"]), "--title", ref["title"])
        if err:
            sys.exit(f"error: register {ref['path']} failed: {err}")
        titles[out["work_id"]] = ref["title"]
        reg_times.append(dt)
        log(f"accuracy: registered {ref['title']} ({out.get('frames')} frames, {dt:.2f} s)")
    listed, err, _ = reelguard(args.bin, data, "works", "list")
    if err or len(listed.get("works", [])) != len(titles):
        log(f"accuracy: warning: works list gave {err or len(listed.get('works', []))}, expected {len(titles)} works")

    # Match every query.
    results, match_times = {}, []
    for i, q in enumerate(man["queries"], 1):
        out, err, dt = reelguard(args.bin, data, "match", str(ROOT / q["path"]))
        match_times.append(dt)
        entries = [] if err else out.get("matches", [])
        for e in entries:
            e["title"] = titles.get(e.get("work_id"), e.get("title"))
        names = [e["title"] for e in entries]
        loc = None
        if q["expected"] in names:
            loc = loc_error(q["truth"], entries[names.index(q["expected"])])
        results[q["path"]] = {"titles": names, "loc": loc, "error": err, "entries": entries, "time_s": dt}
        if i % 20 == 0:
            log(f"accuracy: {i}/{len(man['queries'])} queries matched")

    rows = score(man["queries"], results)
    md = render(man, rows, results, reg_times, match_times)
    (WORK / "accuracy.md").write_text(md)
    (WORK / "accuracy.json").write_text(json.dumps(
        {"families": rows, "queries": [dict(q, result=results[q["path"]]) for q in man["queries"]],
         "register_s_mean": sum(reg_times) / len(reg_times),
         "match_s_mean": sum(match_times) / len(match_times)}, indent=1))
    print(md)


def render(man, rows, results, reg_times, match_times):
    table = []
    for name in ordered(rows) + ["overall"]:
        r = rows[name]
        dist = name == DISTRACTOR
        table.append([
            f"**{name}**" if name == "overall" else name, r["queries"],
            "—" if dist else r["found"], "—" if dist else fmt(r["recall"]), r["fp"],
            fmt(r["loc_mean"]), fmt(r["loc_max"]),
            "pass" if family_ok(r, overall=name == "overall") else "**FAIL**"])
    fams_ok = all(family_ok(rows[n]) for n in rows if n != "overall")
    all_ok = fams_ok and family_ok(rows["overall"], overall=True)
    lines = [
        md_table(["family", "queries", "found", "recall", "FP", "loc err mean (s)", "loc err max (s)", "bar"], table),
        "",
        f"Bar: recall ≥ {BAR_RECALL_OVERALL} overall and ≥ {BAR_RECALL_FAMILY} per family, "
        f"{BAR_FP} false positives, localisation within ±{BAR_LOC_S:g} s → **{'PASS' if all_ok else 'FAIL'}**",
        "",
        f"{len(man['references'])} references, {rows['overall']['queries']} queries, "
        f"{rows.get(DISTRACTOR, {}).get('queries', 0)} distractor queries. "
        f"Mean time: register {sum(reg_times) / len(reg_times):.2f} s, match {sum(match_times) / len(match_times):.2f} s.",
    ]
    # Everything that needs tuning: misses, false positives, poor localisation.
    misses, fps, locs = [], [], []
    for q in man["queries"]:
        r = results[q["path"]]
        got = r["error"] or describe(r["entries"])
        if q["expected"] is not None and q["expected"] not in r["titles"]:
            misses.append(f"- `{q['path']}` ({q['family']}, expected {q['expected']}): {got}")
        if any(t != q["expected"] for t in r["titles"]):
            fps.append(f"- `{q['path']}` ({q['family']}, expected {q['expected'] or 'nothing'}): {got}")
        if r["loc"] is not None and r["loc"] > BAR_LOC_S:
            t = q["truth"]
            locs.append(f"- `{q['path']}` ({q['family']}): error {r['loc']:.2f} s; truth q[{t['query'][0]:.1f}-"
                        f"{t['query'][1]:.1f}] w[{t['work'][0]:.1f}-{t['work'][1]:.1f}]; got {got}")
    for title, items in [("Misses", misses), ("False positives", fps), ("Localisation over the bar", locs)]:
        lines += ["", f"**{title}** ({len(items)})" + (":" if items else "")] + items
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
