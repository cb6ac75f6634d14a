"""Shared helpers for the engine benchmark: paths, ffprobe, scoring, tables.

Standard library only (peers.py imports it from inside the venv too).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench"
MANIFEST = WORK / "manifest.json"

# The bars the engine has to clear (see DESIGN.md: thresholds come from here).
BAR_RECALL_OVERALL = 0.97
BAR_RECALL_FAMILY = 0.90
BAR_FP = 0
BAR_LOC_S = 1.0

# Families in the order they appear in tables.
FAMILIES = [
    "natural", "reencode", "scale360", "crop10", "mirror", "letterbox",
    "pillarbox", "speed0.9", "speed1.1", "color", "overlay", "noise", "pip",
    "partial", "embedded", "fps15", "grey", "rotate5", "combo",
]
DISTRACTOR = "distractor"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def media_dir():
    """../shared/media relative to the repo root (overridable for other footage)."""
    return Path(os.environ.get("BENCH_MEDIA_DIR", ROOT.parent / "shared" / "media")).resolve()


def probe(path):
    """(duration_s, width, height) of the first video stream."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0",
         "-show_entries", "stream=width,height,duration:format=duration",
         "-of", "json", str(path)],
        check=True, capture_output=True, text=True).stdout
    info = json.loads(out)
    st = info["streams"][0]
    dur = st.get("duration") or info["format"].get("duration")
    return float(dur), int(st["width"]), int(st["height"])


def load_manifest():
    if not MANIFEST.exists():
        sys.exit(f"error: {MANIFEST} is missing; run bench/media.py first")
    return json.loads(MANIFEST.read_text())


def loc_error(truth, entry):
    """Max absolute error (s) of a reported segment against the true ranges."""
    (qs, qe), (ws, we) = truth["query"], truth["work"]
    return max(abs(entry["query_start_s"] - qs), abs(entry["query_end_s"] - qe),
               abs(entry["work_start_s"] - ws), abs(entry["work_end_s"] - we))


def score(queries, results):
    """Per-family recall / FP / localisation.

    queries: manifest query list. results: {query path: {"titles": [..] in
    rank order, "loc": seconds or None (best entry of the expected work)}}.
    A query is found when some entry names the expected work; every entry
    naming another work, and every entry for a distractor, is a false positive.
    """
    fams = {}
    for q in queries:
        r = results.get(q["path"], {"titles": [], "loc": None})
        f = fams.setdefault(q["family"], {"queries": 0, "found": 0, "fp": 0, "locs": []})
        f["queries"] += 1
        exp = q["expected"]
        if exp is not None and exp in r["titles"]:
            f["found"] += 1
            if r.get("loc") is not None:
                f["locs"].append(r["loc"])
        f["fp"] += sum(1 for t in r["titles"] if t != exp)
    rows = {}
    for name, f in fams.items():
        rows[name] = {
            "queries": f["queries"], "found": f["found"], "fp": f["fp"],
            "recall": (f["found"] / f["queries"]) if name != DISTRACTOR else None,
            "loc_mean": (sum(f["locs"]) / len(f["locs"])) if f["locs"] else None,
            "loc_max": max(f["locs"]) if f["locs"] else None,
        }
    pos = [f for n, f in fams.items() if n != DISTRACTOR]
    nq = sum(f["queries"] for f in pos)
    locs = [x for f in pos for x in f["locs"]]
    rows["overall"] = {
        "queries": nq, "found": sum(f["found"] for f in pos),
        "fp": sum(f["fp"] for f in fams.values()),
        "recall": (sum(f["found"] for f in pos) / nq) if nq else 0.0,
        "loc_mean": (sum(locs) / len(locs)) if locs else None,
        "loc_max": max(locs) if locs else None,
    }
    return rows


def ordered(rows):
    """Family names in table order (known ones first, then any others)."""
    names = [n for n in FAMILIES if n in rows]
    names += sorted(n for n in rows if n not in FAMILIES and n not in (DISTRACTOR, "overall"))
    if DISTRACTOR in rows:
        names.append(DISTRACTOR)
    return names


def fmt(x, digits=2):
    return "n/a" if x is None else f"{x:.{digits}f}"


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
