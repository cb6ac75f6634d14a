#!/usr/bin/env python3
"""Generate the benchmark media and its ground truth (target/bench/manifest.json).

References: every clip in ../shared/media lasting >= 2.5 s (carphone_distorted
excepted: it is the natural degraded copy of carphone_pristine, and a query).
Distractors: the shorter clips plus a few lavfi sources; they are never
registered and must match nothing.
Queries: one per reference and transform family, made with ffmpeg. Files are
cached: a query is only re-made when missing or when its ffmpeg command changed.
"""

import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from benchlib import MANIFEST, ROOT, WORK, log, media_dir, probe

REF_MIN_S = 2.5
NATURAL = {"carphone_distorted": "carphone_pristine"}  # query stem -> reference
VIDEO_EXT = {".mp4", ".avi", ".ogv", ".mkv", ".webm", ".mov"}

# lavfi distractors: name -> source (a few seconds each, some at 1280x720)
LAVFI = {
    "testsrc2_720p": "testsrc2=s=1280x720:r=25",
    "mandelbrot_720p": "mandelbrot=s=1280x720:r=25",
    "life_360p": "life=s=640x360:r=25:mold=10:seed=7",
    "cellauto_360p": "cellauto=s=640x360:r=25:rule=110:seed=7",
}
LAVFI_S = 4.0

# Encoders: fast for plain transforms, crf 36 where the family asks for it.
FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p", "-an"]
CRF36 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "36", "-pix_fmt", "yuv420p", "-an"]
EVEN = "scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,format=yuv420p"

# Off-centre "logo" (yellow box near the top-right corner) plus a caption bar
# near the bottom-left: about 15 % of the frame together.
BOXES = ("drawbox=x=iw*0.60:y=ih*0.05:w=iw*0.34:h=ih*0.34:color=yellow@1:t=fill,"
         "drawbox=x=iw*0.05:y=ih*0.80:w=iw*0.30:h=ih*0.10:color=black@0.85:t=fill")

# Single-input families: name -> (video filter, encoder args, speed factor)
SIMPLE = {
    "reencode": ("null", CRF36, 1.0),
    "scale360": ("scale=-2:360", FAST, 1.0),
    "crop10": ("crop=trunc(iw*0.8/2)*2:trunc(ih*0.8/2)*2", FAST, 1.0),
    "mirror": ("hflip", FAST, 1.0),
    "letterbox": ("scale=1280:720:force_original_aspect_ratio=decrease:force_divisible_by=2,"
                  "pad=1280:720:(ow-iw)/2:(oh-ih)/2:black", FAST, 1.0),
    "pillarbox": ("scale=1080:-2,pad=1080:1920:0:(oh-ih)/2:black", FAST, 1.0),
    "speed0.9": ("setpts=PTS/0.9", FAST, 0.9),
    "speed1.1": ("setpts=PTS/1.1", FAST, 1.1),
    "color": ("eq=brightness=0.06:contrast=1.3:saturation=1.4,hue=h=20", FAST, 1.0),
    "overlay": (BOXES, FAST, 1.0),
    "noise": ("noise=alls=20:allf=t", FAST, 1.0),
    "fps15": ("fps=15", FAST, 1.0),
    "grey": ("hue=s=0", FAST, 1.0),
    "rotate5": ("rotate=5*PI/180:fillcolor=black", FAST, 1.0),
    "combo": ("crop=trunc(iw*0.84/2)*2:trunc(ih*0.84/2)*2,hflip," + BOXES, CRF36, 1.0),
}
PIP_BG = ["mandelbrot", "life", "testsrc2", "cellauto"]  # lavfi backgrounds, cycled
PIP_SIZE = (1280, 720)


def rel(p):
    return os.path.relpath(p, ROOT)


def even(x):
    return max(2, int(x) // 2 * 2)


def ffmpeg_job(out, args):
    """A cached ffmpeg job: (output path, full argument list)."""
    return (out, ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"] + args)


def run_job(job):
    out, cmd = job
    stamp = out + ".cmd"
    line = " ".join(cmd[:-1])  # the command minus its output path
    if os.path.exists(out) and os.path.exists(stamp) and open(stamp).read() == line:
        return out, False
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out[:-4] + ".tmp" + out[-4:]
    r = subprocess.run(cmd[:-1] + [tmp], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {rel(out)}:\n{' '.join(cmd)}\n{r.stderr[-2000:]}")
    os.replace(tmp, out)
    with open(stamp, "w") as f:
        f.write(line)
    return out, True


def run_all(jobs, what):
    """Run ffmpeg jobs two at a time (the machine has 2 cores)."""
    made = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _, fresh in pool.map(run_job, jobs):
            made += fresh
    log(f"media: {what}: {len(jobs)} files ({made} generated, {len(jobs) - made} cached)")


def scan_media(mdir):
    refs, short, natural = [], [], []
    for p in sorted(mdir.iterdir()):
        if p.suffix.lower() not in VIDEO_EXT:
            continue
        dur, w, h = probe(p)
        item = {"title": p.stem, "path": rel(p), "duration_s": dur, "width": w, "height": h}
        if p.stem in NATURAL:
            natural.append(item)
        elif dur >= REF_MIN_S - 1e-6:
            refs.append(item)
        else:
            short.append(item)
    return refs, short, natural


def main():
    mdir = media_dir()
    if not mdir.is_dir():
        sys.exit(f"error: media directory {mdir} not found (expected ../shared/media next to the repo)")
    os.chdir(ROOT)
    refs, short, natural = scan_media(mdir)
    if not refs:
        sys.exit(f"error: no clip of >= {REF_MIN_S} s in {mdir}")
    qdir = WORK / "queries"

    # Lavfi distractors.
    jobs, lavfi = [], []
    for name, src in LAVFI.items():
        out = str(WORK / "distractors" / f"{name}.mp4")
        jobs.append(ffmpeg_job(out, ["-f", "lavfi", "-i", src, "-t", str(LAVFI_S), "-vf", EVEN] + FAST + [out]))
        lavfi.append({"title": name, "path": rel(out)})
    run_all(jobs, "lavfi distractors")
    distractors = short + lavfi

    queries, jobs = [], []

    def add(family, ref, out, args, truth):
        jobs.append(ffmpeg_job(str(out), args + [str(out)]))
        queries.append({"path": rel(out), "family": family, "expected": ref["title"] if ref else None,
                        "truth": truth})

    for i, ref in enumerate(refs):
        src, d, stem = ref["path"], ref["duration_s"], ref["title"]
        full = {"query": [0.0, d], "work": [0.0, d]}

        for fam, (vf, enc, speed) in SIMPLE.items():
            vf = vf + "," + EVEN
            truth = {"query": [0.0, d / speed], "work": [0.0, d]}
            add(fam, ref, qdir / fam / f"{stem}.mp4", ["-i", src, "-vf", vf] + enc, truth)

        # Picture-in-picture: the reference at half the background width, at
        # an off-grid position, over a lavfi background that lasts 1 s longer.
        bw, bh = PIP_SIZE
        bg = f"{PIP_BG[i % len(PIP_BG)]}=s={bw}x{bh}:r=25"
        fc = (f"[1:v]setpts=PTS-STARTPTS,scale={bw // 2}:-2,setsar=1[in];"
              f"[0:v][in]overlay=x=0.37*W:y=0.12*H:eof_action=pass,{EVEN}")
        add("pip", ref, qdir / "pip" / f"{stem}.mp4",
            ["-f", "lavfi", "-t", f"{d + 1.0:.3f}", "-i", bg, "-i", src, "-filter_complex", fc] + FAST, full)

        # Partial: the middle 30 % (or 2 s, whichever is longer).
        plen = min(d, max(0.3 * d, 2.0))
        a = (d - plen) / 2
        add("partial", ref, qdir / "partial" / f"{stem}.mp4",
            ["-ss", f"{a:.3f}", "-t", f"{plen:.3f}", "-i", src, "-vf", EVEN] + FAST,
            {"query": [0.0, plen], "work": [a, a + plen]})

        # Embedded: a >= 2 s segment between a lavfi segment and a looped short clip.
        a = max(0.0, min(1.0, d - 2.0))
        elen = min(4.0, math.floor((d - a) * 10) / 10)
        pre = 2.0 + 0.2 * (i % 5)  # 2.0 .. 2.8 s, whole frames at 25 fps
        w, h = even(ref["width"]), even(ref["height"])
        pre_src = f"{PIP_BG[(i + 1) % len(PIP_BG)]}=s={w}x{h}:r=25"
        post = short[i % len(short)] if short else lavfi[0]
        norm = f"scale={w}:{h},setsar=1,fps=25,format=yuv420p"
        fc = (f"[0:v]{norm}[a];[1:v]setpts=PTS-STARTPTS,{norm}[b];[2:v]setpts=PTS-STARTPTS,{norm}[c];"
              f"[a][b][c]concat=n=3:v=1:a=0")
        add("embedded", ref, qdir / "embedded" / f"{stem}.mp4",
            ["-f", "lavfi", "-t", f"{pre:.2f}", "-i", pre_src,
             "-ss", f"{a:.3f}", "-t", f"{elen:.3f}", "-i", src,
             "-stream_loop", "-1", "-t", "2.5", "-i", post["path"], "-filter_complex", fc] + FAST,
            {"query": [pre, pre + elen], "work": [a, a + elen]})

    # The natural degraded copy is used as is.
    by_title = {r["title"]: r for r in refs}
    for n in natural:
        ref = by_title.get(NATURAL[n["title"]])
        if ref:
            queries.append({"path": n["path"], "family": "natural", "expected": ref["title"],
                            "truth": {"query": [0.0, n["duration_s"]], "work": [0.0, ref["duration_s"]]}})

    # Distractor queries: each distractor as is, plus re-encoded and mirrored copies of a few.
    for dist in distractors:
        queries.append({"path": dist["path"], "family": "distractor", "expected": None, "truth": None})
    for dist in [distractors[j] for j in range(0, len(distractors), 3)]:
        for tag, vf, enc in [("reencode", "null", CRF36), ("mirror", "hflip", FAST)]:
            add("distractor", None, qdir / "distractor" / f"{dist['title']}_{tag}.mp4",
                ["-i", dist["path"], "-vf", vf + "," + EVEN] + enc, None)

    run_all(jobs, "queries")
    MANIFEST.write_text(json.dumps({
        "media_dir": str(mdir), "references": refs, "distractors": distractors, "queries": queries,
    }, indent=1))
    n_pos = sum(q["expected"] is not None for q in queries)
    log(f"media: {len(refs)} references, {len(distractors)} distractors, "
        f"{n_pos} queries + {len(queries) - n_pos} distractor queries -> {rel(MANIFEST)}")


if __name__ == "__main__":
    main()
