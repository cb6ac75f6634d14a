#!/usr/bin/env python3
"""Speed: reelguard register vs a single-threaded ffmpeg decode of the same clip.

The clip is bigbuckbunny.mp4 looped to >= 60 s (1280x720 h264). Wall clock,
best of 3, both measured in the same run, runs interleaved. Bar: reelguard / ffmpeg <= 1.0.
Writes target/bench/speed.md and speed.json. Standard library only.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time

from benchlib import ROOT, WORK, log, media_dir, probe

RUNS = 3
MIN_S = 60.0
BAR_RATIO = 1.0


def make_clip():
    src = media_dir() / "bigbuckbunny.mp4"
    out = WORK / "speed_720p_60s.mp4"
    if out.exists() and probe(out)[0] >= MIN_S:
        return out
    tmp = WORK / "speed_720p_60s.tmp.mp4"
    base = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "11", "-i", str(src)]
    subprocess.run(base + ["-c", "copy", str(tmp)], check=True)
    if probe(tmp)[0] < MIN_S:  # stream copy misbehaved: re-encode instead
        subprocess.run(base + ["-an", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(tmp)],
                       check=True)
    dur = probe(tmp)[0]
    if dur < MIN_S:
        sys.exit(f"error: looped clip lasts {dur:.1f} s, need >= {MIN_S:g} s")
    tmp.replace(out)
    return out


def timed(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, cmd))} failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "reelguard"))
    args = ap.parse_args()
    clip = make_clip()
    dur, w, h = probe(clip)
    log(f"speed: clip {clip.relative_to(ROOT)}: {dur:.1f} s, {w}x{h}")

    data = WORK / "data-speed"
    ffmpeg = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", str(clip), "-an", "-f", "null", "-"]
    register = [args.bin, "--data-dir", str(data), "register", str(clip), "--title", "speed", "--json"]
    # Interleaved, so that both see the same background load.
    all_ff, all_rg = [], []
    for _ in range(RUNS):
        all_ff.append(timed(ffmpeg))
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        all_rg.append(timed(register))
    t_ff, t_rg = min(all_ff), min(all_rg)
    ratio = t_rg / t_ff
    md = "\n".join([
        f"Clip: bigbuckbunny.mp4 looped, {dur:.1f} s, {w}x{h} h264. Wall clock, best of {RUNS} (runs interleaved).",
        "",
        "| step | best (s) | runs (s) | × real time |",
        "|---|---|---|---|",
        f"| `ffmpeg -threads 1 -i CLIP -an -f null -` | {t_ff:.2f} | {', '.join(f'{t:.2f}' for t in all_ff)} | {dur / t_ff:.1f} |",
        f"| `reelguard register CLIP` (fresh data dir) | {t_rg:.2f} | {', '.join(f'{t:.2f}' for t in all_rg)} | {dur / t_rg:.1f} |",
        "",
        f"Ratio reelguard / ffmpeg = **{ratio:.2f}** (bar ≤ {BAR_RATIO:g}) → **{'PASS' if ratio <= BAR_RATIO else 'FAIL'}**",
    ]) + "\n"
    (WORK / "speed.md").write_text(md)
    (WORK / "speed.json").write_text(json.dumps(
        {"clip_s": dur, "ffmpeg_s": t_ff, "reelguard_s": t_rg, "ratio": ratio,
         "ffmpeg_runs": all_ff, "reelguard_runs": all_rg}, indent=1))
    print(md)


if __name__ == "__main__":
    main()
