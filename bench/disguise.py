#!/usr/bin/env python3
"""Held-out disguise generator: random real-world re-upload layouts over real footage.

Every query's parameters are drawn with random.Random(seed) from the classes of
issue 15 (surround, crop, zoom, rotate, perspective, reframe, split, pip, reaction,
classic, partial, embedded, combo, distractor_layout); ffmpeg renders it (libx264
ultrafast, yuv420p, no audio). Files are cached by the hash of their ffmpeg command
under target/bench/heldout/<split>/, and the manifest is written to
target/bench/heldout/<split>/manifest.json.

Usage: python3 bench/disguise.py --split tune|dev|report [--per-class N] [--jobs 2] [--classes a,b]
Standard library only.
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import references  # noqa: E402

WORK = references.WORK / "heldout"
SEEDS = {"tune": 1001, "dev": 3003, "report": 2002}
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CLASSES = ["surround", "crop", "zoom", "rotate", "perspective", "reframe", "split", "pip",
           "reaction", "classic", "partial", "embedded", "combo", "distractor_layout"]
WORDS = ("wait for it", "no way", "POV", "this is insane", "part 2", "watch till the end",
         "bro what", "I can't believe", "day 1", "follow for more", "the ending", "LOL",
         "who did this", "so satisfying", "new trend", "caught on camera", "omg", "reaction")


def even(x):
    return max(2, int(round(x / 2.0)) * 2)


def rcolor(rng):
    return "0x%02x%02x%02x" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))


class Graph:
    """An ffmpeg filter graph under construction."""

    def __init__(self):
        self.inputs = []   # list of arg lists
        self.chains = []
        self.n = 0

    def inp(self, path, loop=False):
        self.inputs.append((["-stream_loop", "-1"] if loop else []) + ["-i", str(path)])
        return f"[{len(self.inputs) - 1}:v]"

    def lab(self):
        self.n += 1
        return f"[v{self.n}]"

    def add(self, ins, f):
        out = self.lab()
        self.chains.append(f"{''.join(ins)}{f}{out}")
        return out


# ---------------------------------------------------------------- helpers
def footage(g, rng, pool, w, h, dur):
    """A distractor clip (looped) covering w x h."""
    d = rng.choice(pool["distractors"])
    s = g.inp(d["path"], loop=True)
    lab = g.add([s], f"fps=25,scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1")
    return lab, d["stem"]


def cover(g, src, w, h, fx=0.5, fy=0.5):
    """Scale src to cover w x h and crop at relative offset (fx, fy)."""
    return g.add([src], f"scale={w}:{h}:force_original_aspect_ratio=increase,"
                        f"crop={w}:{h}:(iw-{w})*{fx:.3f}:(ih-{h})*{fy:.3f},setsar=1")


def blur_bg(g, src, w, h, rng):
    a, b = g.lab(), g.lab()
    g.chains.append(f"{src}split{a}{b}")
    r = rng.randint(10, 30)
    bg = g.add([b], f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},boxblur={r}:2,"
                    f"eq=brightness={rng.uniform(-0.25, 0.0):.2f}")
    return a, bg


def background(g, rng, pool, kind, src, w, h, dur):
    """(fg label (maybe split off src), bg label, params) for a fill kind."""
    p = {"fill": kind}
    if kind == "black":
        return src, g.add([], f"color=c=black:s={w}x{h}:r=25"), p
    if kind == "white":
        return src, g.add([], f"color=c=white:s={w}x{h}:r=25"), p
    if kind == "colour":
        c = rcolor(rng)
        p["colour"] = c
        return src, g.add([], f"color=c={c}:s={w}x{h}:r=25"), p
    if kind == "gradient":
        c0, c1 = rcolor(rng), rcolor(rng)
        p["colours"] = [c0, c1]
        return src, g.add([], f"gradients=s={w}x{h}:c0={c0}:c1={c1}:n=2:speed=0.01:r=25"), p
    if kind == "blur":
        fg, bg = blur_bg(g, src, w, h, rng)
        return fg, bg, p
    if kind == "footage":
        bg, stem = footage(g, rng, pool, w, h, dur)
        p["footage"] = stem
        return src, bg, p
    raise ValueError(kind)


def text(rng):
    return " ".join(rng.sample(WORDS, rng.randint(1, 2))).replace(":", "").replace("'", "")


def drawtext(t, colour, size, y):
    return (f"drawtext=fontfile={FONT}:text='{t}':fontcolor={colour}:fontsize={size}:"
            f"x=(w-text_w)/2:y={y}")


CANVASES = {"9:16": (720, 1280), "1:1": (720, 720), "16:9": (1280, 720), "4:5": (720, 900)}


# ---------------------------------------------------------------- transforms
# Each: f(g, rng, pool, src, w, h, dur) -> (label, w, h, params)

def t_surround(g, rng, pool, src, w, h, dur, fills=None):
    kind = rng.choice(fills or ["black", "white", "colour", "gradient", "blur", "footage", "captions"])
    if kind == "captions":
        cw = rng.choice([720, 720, 1080 // 2 * 2])
        cw = 720
        ph = even(cw * h / w)
        top, bot = even(rng.uniform(0.12, 0.6) * ph), even(rng.uniform(0.0, 0.5) * ph)
        bandc, txtc = rng.choice([("white", "black"), ("black", "white"), ("white", "black")])
        ch = min(1280, ph + top + bot)
        fg = g.add([src], f"scale={cw}:{ph},setsar=1")
        bg = g.add([], f"color=c={bandc}:s={cw}x{ch}:r=25")
        y = top
        lab = g.add([bg, fg], f"overlay=0:{y}:shortest=1")
        t1, t2 = text(rng), text(rng)
        fs = rng.randint(28, 52)
        lab = g.add([lab], drawtext(t1, txtc, fs, max(4, top // 2 - fs // 2)))
        if bot > fs + 8:
            lab = g.add([lab], drawtext(t2, txtc, fs, f"{y + ph + (bot - fs) // 2}"))
        return lab, cw, ch, {"fill": "captions", "top": top, "bottom": bot, "text": [t1, t2],
                             "band": bandc}
    canvas = rng.choice(["9:16", "9:16", "1:1", "16:9", "4:5"])
    cw, ch = CANVASES[canvas]
    s = rng.uniform(0.55, 0.9)
    pw = cw * s
    ph = pw * h / w
    if ph > ch * 0.9:
        ph = ch * rng.uniform(0.6, 0.9)
        pw = ph * w / h
    pw, ph = even(pw), even(ph)
    x, y = int(rng.uniform(0, 1) * (cw - pw)), int(rng.uniform(0, 1) * (ch - ph))
    fg, bg, p = background(g, rng, pool, kind, src, cw, ch, dur)
    fg = g.add([fg], f"scale={pw}:{ph},setsar=1")
    lab = g.add([bg, fg], f"overlay={x}:{y}:shortest=1")
    p.update({"canvas": canvas, "rect": [x, y, pw, ph]})
    return lab, cw, ch, p


def t_crop(g, rng, pool, src, w, h, dur):
    l, r, t, b = (rng.uniform(0, 0.25) for _ in range(4))
    cw, chh = even(w * (1 - l - r)), even(h * (1 - t - b))
    lab = g.add([src], f"crop={cw}:{chh}:{int(w * l)}:{int(h * t)}")
    rescale = rng.random() < 0.5
    if rescale:
        lab = g.add([lab], f"scale={w}:{h},setsar=1")
        cw, chh = w, h
    return lab, cw, chh, {"left": round(l, 3), "right": round(r, 3), "top": round(t, 3),
                          "bottom": round(b, 3), "rescaled": rescale}


def t_zoom(g, rng, pool, src, w, h, dur):
    z = rng.uniform(1.1, 1.5)
    zw, zh = even(w / z), even(h / z)
    fx, fy = rng.random(), rng.random()
    lab = g.add([src], f"crop={zw}:{zh}:{int((w - zw) * fx)}:{int((h - zh) * fy)},scale={w}:{h},setsar=1")
    return lab, w, h, {"zoom": round(z, 3), "fx": round(fx, 2), "fy": round(fy, 2)}


def t_rotate(g, rng, pool, src, w, h, dur):
    a = rng.uniform(2, 10) * rng.choice([-1, 1])
    fill = rng.choice(["black", "colour", "blur", "zoom"])
    rad = a * 3.14159265 / 180
    p = {"angle": round(a, 2), "fill": fill}
    if fill in ("black", "colour"):
        c = "black" if fill == "black" else rcolor(rng)
        p["colour"] = c
        lab = g.add([src], f"rotate={rad:.5f}:fillcolor={c}")
    elif fill == "blur":
        fg, bg = blur_bg(g, src, w, h, rng)
        fg = g.add([fg], f"format=rgba,rotate={rad:.5f}:fillcolor=none")
        lab = g.add([bg, fg], "overlay=0:0:shortest=1")
    else:
        import math
        ca, sa = math.cos(abs(rad)), math.sin(abs(rad))
        k = ca + sa * max(w / h, h / w)
        lab = g.add([src], f"rotate={rad:.5f},scale={even(w * k)}:{even(h * k)},crop={w}:{h},setsar=1")
        p["zoom"] = round(k, 3)
    return lab, w, h, p


def t_perspective(g, rng, pool, src, w, h, dur):
    m = [rng.uniform(0, 0.08) for _ in range(8)]
    pts = [m[0] * w, m[1] * h, w - m[2] * w, m[3] * h, m[4] * w, h - m[5] * h, w - m[6] * w, h - m[7] * h]
    f = "perspective=" + ":".join(f"{v:.1f}" for v in pts) + ":sense=destination"
    p = {"corners": [round(v, 3) for v in m]}
    if rng.random() < 0.6:
        s = rng.uniform(0.5, 1.5)
        f += f",gblur=sigma={s:.2f}"
        p["blur"] = round(s, 2)
    if rng.random() < 0.5:
        n = rng.randint(4, 12)
        f += f",noise=alls={n}:allf=t"
        p["noise"] = n
    if rng.random() < 0.6:
        b = rng.uniform(-0.12, 0.12)
        f += f",eq=brightness={b:.3f}:contrast={rng.uniform(0.8, 1.1):.2f}"
        p["brightness"] = round(b, 3)
    return g.add([src], f), w, h, p


def t_reframe(g, rng, pool, src, w, h, dur):
    ratio = rng.choice(["9:16", "9:16", "1:1", "4:5"])
    a, b = map(int, ratio.split(":"))
    ww = even(min(w, h * a / b))
    x1 = int(rng.choice([0.5, rng.random()]) * (w - ww))
    p = {"ratio": ratio, "window_w": ww, "x1": x1}
    if rng.random() < 0.4 and dur > 2:
        x2 = int(rng.random() * (w - ww))
        tm = round(rng.uniform(0.3, 0.7) * dur, 2)
        xe = f"'if(lt(t,{tm}),{x1},{x2})'"
        p.update({"x2": x2, "switch_s": tm})
    else:
        xe = str(x1)
    oh = 960 if ratio == "9:16" else 720
    ow = even(oh * a / b)
    lab = g.add([src], f"crop={ww}:{h}:{xe}:0,scale={ow}:{oh},setsar=1")
    return lab, ow, oh, p


def t_split(g, rng, pool, src, w, h, dur):
    n = rng.choice([2, 2, 3])
    stacked = rng.random() < 0.5
    W, H = (720, 1280) if stacked else (1280, 720)
    cw, chh = (W, even(H / n)) if stacked else (even(W / n), H)
    pos = rng.randrange(n)
    parts, others = [], []
    for i in range(n):
        if i == pos:
            parts.append(cover(g, src, cw, chh, rng.random(), rng.random()))
        else:
            lab, stem = footage(g, rng, pool, cw, chh, dur)
            parts.append(lab)
            others.append(stem)
    lab = g.add(parts, f"{'vstack' if stacked else 'hstack'}=inputs={n}:shortest=1")
    return lab, (W if stacked else cw * n), (chh * n if stacked else H), \
        {"n": n, "stacked": stacked, "position": pos, "others": others}


def t_pip(g, rng, pool, src, w, h, dur):
    W, H = rng.choice([(1280, 720), (720, 1280)])
    frac = rng.uniform(0.25, 0.5)
    pw = even(W * frac)
    ph = even(pw * h / w)
    if ph > H * 0.9:
        ph = even(H * 0.5)
        pw = even(ph * w / h)
    x, y = int(rng.random() * (W - pw)), int(rng.random() * (H - ph))
    bg, stem = footage(g, rng, pool, W, H, dur)
    fg = g.add([src], f"scale={pw}:{ph},setsar=1")
    if rng.random() < 0.4:
        bw = rng.randint(2, 8)
        fg = g.add([fg], f"pad={pw + 2 * bw}:{ph + 2 * bw}:{bw}:{bw}:color=white")
        x, y = max(0, x - bw), max(0, y - bw)
    lab = g.add([bg, fg], f"overlay={x}:{y}:shortest=1")
    return lab, W, H, {"frame": [W, H], "width_share": round(frac, 3), "rect": [x, y, pw, ph],
                       "background": stem}


def t_reaction(g, rng, pool, src, w, h, dur):
    if rng.random() < 0.5:
        W, H = 720, 1280
        share = rng.uniform(0.4, 0.6)
        th = even(H * share)
        top = cover(g, src, W, th, 0.5, rng.uniform(0.3, 0.7))
        face, stem = footage(g, rng, pool, W, H - th, dur)
        work_top = rng.random() < 0.75
        lab = g.add([top, face] if work_top else [face, top], "vstack=inputs=2:shortest=1")
        return lab, W, H, {"layout": "stacked", "work_share": round(share, 2), "work_top": work_top,
                           "face": stem}
    cw = even(rng.uniform(0.2, 0.32) * w)
    chh = even(cw * 3 / 4)
    face, stem = footage(g, rng, pool, cw, chh, dur)
    corner = rng.choice(["tl", "tr", "bl", "br"])
    m = 10
    x = m if corner[1] == "l" else w - cw - m
    y = m if corner[0] == "t" else h - chh - m
    lab = g.add([src, face], f"overlay={x}:{y}:shortest=1")
    return lab, w, h, {"layout": "webcam", "corner": corner, "box": [x, y, cw, chh], "face": stem}


def t_classic(g, rng, pool, src, w, h, dur, n=None):
    ops = rng.sample(["scale", "mirror", "colour", "noise", "fps", "grey", "bars"], n or rng.randint(1, 3))
    p = {"ops": ops}
    lab = src
    for op in ops:
        if op == "scale":
            s = rng.uniform(0.3, 0.7)
            lab = g.add([lab], f"scale={even(w * s)}:{even(h * s)}")
            w, h = even(w * s), even(h * s)
            p["scale"] = round(s, 2)
        elif op == "mirror":
            lab = g.add([lab], "hflip")
        elif op == "colour":
            b, c, s, hue = rng.uniform(-0.15, 0.15), rng.uniform(0.7, 1.3), rng.uniform(0.5, 1.6), rng.uniform(-40, 40)
            lab = g.add([lab], f"eq=brightness={b:.3f}:contrast={c:.2f}:saturation={s:.2f},hue=h={hue:.1f}")
            p["colour"] = [round(b, 3), round(c, 2), round(s, 2), round(hue, 1)]
        elif op == "noise":
            n2 = rng.randint(8, 25)
            lab = g.add([lab], f"noise=alls={n2}:allf=t")
            p["noise"] = n2
        elif op == "fps":
            f = rng.choice([10, 12, 15, 20, 30, 50, 60])
            lab = g.add([lab], f"fps={f}")
            p["fps"] = f
        elif op == "grey":
            lab = g.add([lab], "hue=s=0")
        elif op == "bars":
            if rng.random() < 0.5:
                bh = even(h * rng.uniform(0.1, 0.3))
                lab = g.add([lab], f"pad={w}:{h + 2 * bh}:0:{bh}:black")
                h += 2 * bh
                p["letterbox"] = bh
            else:
                bw = even(w * rng.uniform(0.1, 0.3))
                lab = g.add([lab], f"pad={w + 2 * bw}:{h}:{bw}:0:black")
                w += 2 * bw
                p["pillarbox"] = bw
    return lab, w, h, p


TRANSFORMS = {"surround": t_surround, "crop": t_crop, "zoom": t_zoom, "rotate": t_rotate,
              "perspective": t_perspective, "reframe": t_reframe, "split": t_split, "pip": t_pip,
              "reaction": t_reaction, "classic": t_classic}


# ---------------------------------------------------------------- queries
def base(g, ref, start, length, speed, mirror):
    s = g.inp(ref["path"])
    f = f"trim=start={start:.3f}:duration={length:.3f},setpts=PTS-STARTPTS,fps=25,setsar=1"
    if mirror:
        f += ",hflip"
    if abs(speed - 1) > 1e-6:
        f += f",setpts=PTS/{speed:.4f}"
    return g.add([s], f)


def make_query(cls, i, rng, pool):
    """(Graph, output label, crf, duration, record) for query i of class cls."""
    g = Graph()
    refs = pool["refs"]
    rec = {"class": cls, "index": i, "params": {}}
    crf = rng.randint(23, 30)
    if cls == "distractor_layout":
        d = rng.choice(pool["distractors"])
        layout = rng.choice(["blur916", "meme", "split", "colour", "pip"])
        dur = rng.uniform(4, 10)
        s = g.inp(d["path"], loop=True)
        src = g.add([s], "fps=25,setsar=1")
        w, h = d["width"], d["height"]
        if layout == "blur916":
            lab, _, _, p = t_surround(g, rng, pool, src, w, h, dur, fills=["blur"])
        elif layout == "meme":
            lab, _, _, p = t_surround(g, rng, pool, src, w, h, dur, fills=["captions"])
        elif layout == "colour":
            lab, _, _, p = t_surround(g, rng, pool, src, w, h, dur, fills=["colour", "gradient", "white"])
        elif layout == "split":
            lab, _, _, p = t_split(g, rng, pool, src, w, h, dur)
        else:
            lab, _, _, p = t_pip(g, rng, pool, src, w, h, dur)
        rec.update({"reference": None, "distractor": d["stem"], "params": {"layout": layout, **p},
                    "truth": None})
        return g, lab, crf, dur, rec

    if cls == "reframe":
        refs = [r for r in refs if r["width"] / r["height"] >= 1.5]
    if cls in ("partial", "embedded"):
        refs = [r for r in refs if r["duration_s"] >= 4.5]
    ref = rng.choice(refs)
    D = ref["duration_s"]
    speed, mirror = 1.0, False
    start, length = 0.0, min(D, 12.0)
    if cls in ("partial", "embedded"):
        length = min(D - 0.5, rng.uniform(3, 8))
        start = rng.uniform(0, max(0.0, D - length - 0.1))
    if cls == "classic":
        if rng.random() < 0.4:
            speed = rng.uniform(0.8, 1.25)
        if rng.random() < 0.5:
            crf = rng.randint(30, 40)
    if cls == "combo" and rng.random() < 0.5:
        speed = rng.uniform(0.8, 1.25)
    if cls == "combo" and rng.random() < 0.4:
        mirror = True
    if speed * length > 12 * speed and length / speed > 12:
        length = 12 * speed
    src = base(g, ref, start, length, speed, mirror)
    w, h = ref["width"], ref["height"]
    qdur = length / speed
    p = {"speed": round(speed, 4), "mirror": mirror, "crf": crf}
    q0 = 0.0
    if cls in TRANSFORMS:
        lab, w, h, tp = TRANSFORMS[cls](g, rng, pool, src, w, h, qdur)
        p.update(tp)
    elif cls == "combo":
        names = rng.sample([c for c in TRANSFORMS if c != "classic"], rng.randint(2, 3))
        # geometric ones first, layouts last (a layout rarely goes inside another)
        order = ["crop", "zoom", "rotate", "perspective", "reframe", "surround", "split", "pip", "reaction"]
        names.sort(key=order.index)
        names = [n for k, n in enumerate(names) if k == 0 or n not in ("split", "pip", "reaction")
                 or names[k - 1] not in ("split", "pip", "reaction", "surround")]
        lab = src
        p["steps"] = []
        for n in names:
            lab, w, h, tp = TRANSFORMS[n](g, rng, pool, lab, w, h, qdur)
            p["steps"].append({"class": n, **tp})
        if w > 1280 or h > 1280:
            s = 1280 / max(w, h)
            lab = g.add([lab], f"scale={even(w * s)}:{even(h * s)}")
            w, h = even(w * s), even(h * s)
    elif cls == "partial":
        lab = src
    elif cls == "embedded":
        pre, post = rng.uniform(1.5, 4), rng.uniform(1.5, 4)
        a, sa = footage(g, rng, pool, w, h, pre)
        b, sb = footage(g, rng, pool, w, h, post)
        a = g.add([a], f"trim=duration={pre:.3f},setpts=PTS-STARTPTS")
        b = g.add([b], f"trim=duration={post:.3f},setpts=PTS-STARTPTS")
        s2 = g.add([src], "format=yuv420p")
        a = g.add([a], "format=yuv420p")
        b = g.add([b], "format=yuv420p")
        lab = g.add([a, s2, b], "concat=n=3:v=1:a=0")
        q0 = pre
        p.update({"before_s": round(pre, 3), "after_s": round(post, 3), "before": sa, "after": sb})
        qdur = pre + qdur + post
    rec.update({"reference": ref["stem"], "params": p,
                "truth": {"query_start_s": round(q0, 3), "query_end_s": round(q0 + length / speed, 3),
                          "work_start_s": round(start, 3), "work_end_s": round(start + length, 3),
                          "speed": round(speed, 4)}})
    return g, lab, crf, qdur, rec


def render(g, lab, crf, dur, outdir):
    lab = g.add([lab], "scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,format=yuv420p")
    graph = ";".join(g.chains)
    args = [a for i in g.inputs for a in i]
    tail = ["-filter_complex", graph, "-map", lab, "-t", f"{dur:.3f}", "-an", "-c:v", "libx264",
            "-preset", "ultrafast", "-crf", str(crf), "-pix_fmt", "yuv420p", "-r", "25"]
    key = hashlib.sha1(json.dumps(args + tail).encode()).hexdigest()[:16]
    out = outdir / f"{key}.mp4"
    if not out.exists():
        tmp = out.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.mp4")
        r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args, *tail, str(tmp)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {r.stderr[-800:]}\n{graph}")
        os.replace(tmp, out)
    return out, graph


def generate(split, per_class=15, jobs=2, classes=CLASSES):
    pool_all = references.load()
    pool = {"refs": [e for e in pool_all if e["role"] == "ref"],
            "distractors": [e for e in pool_all if e["role"] == "distractor"]}
    outdir = WORK / split
    outdir.mkdir(parents=True, exist_ok=True)
    jobsl = []
    for ci, cls in enumerate(classes):
        for i in range(per_class):
            rng = random.Random(f"{SEEDS[split]}-{cls}-{i}")
            jobsl.append(make_query(cls, i, rng, pool))

    def one(j):
        g, lab, crf, dur, rec = j
        out, graph = render(g, lab, crf, dur, outdir)
        rec["path"] = str(out)
        rec["duration_s"] = round(dur, 3)
        rec["filter"] = graph
        return rec

    recs = []
    with ThreadPoolExecutor(jobs) as ex:
        for k, rec in enumerate(ex.map(one, jobsl)):
            recs.append(rec)
            if (k + 1) % 20 == 0:
                references.log(f"disguise[{split}]: {k + 1}/{len(jobsl)}")
    man = {"split": split, "seed": SEEDS[split], "per_class": per_class, "queries": recs}
    (outdir / "manifest.json").write_text(json.dumps(man, indent=1))
    return man


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=list(SEEDS), required=True)
    ap.add_argument("--per-class", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--classes", default=",".join(CLASSES))
    a = ap.parse_args()
    man = generate(a.split, a.per_class, a.jobs, a.classes.split(","))
    references.log(f"disguise[{a.split}]: {len(man['queries'])} queries in {WORK / a.split}")


if __name__ == "__main__":
    main()
