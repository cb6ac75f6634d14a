"""Daemon scan benchmark: 200 candidate videos on the mock platform.

Makes 200 five-second uploads (50 disguised copies of the two registered
works, 150 unrelated clips from ffmpeg's lavfi sources), serves them with
`reelguard mock-platform` on 127.0.0.1 as one Media RSS feed, starts
`reelguard daemon` on a fresh data directory and waits until every candidate
is processed. Reports candidates per minute, the share of processing time
spent downloading, decoding (and fingerprinting) and matching (summed from
the daemon's per-candidate log lines), the matches found against the truth,
and the daemon's peak resident memory. Writes target/bench/scan.md (and
bench/results/scan.md when run from bench/run.sh or with --write-results).

Usage: python3 bench/scan.py --bin target/release/reelguard [--count 200] [--write-results]
Standard library only.
"""

import argparse
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from benchlib import ROOT, WORK, log, media_dir

ENCODE = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an"]


def ffmpeg(args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def works_footage():
    """bikes.mp4 and bigbuckbunny.mp4: ../shared/media, else fixtures/."""
    for base in (media_dir(), ROOT / "fixtures"):
        bikes, bunny = base / "bikes.mp4", base / "bigbuckbunny.mp4"
        if bikes.exists() and bunny.exists():
            return bikes, bunny
    sys.exit("error: bikes.mp4 and bigbuckbunny.mp4 not found in ../shared/media or fixtures/")


def make_uploads(out, count, bikes, bunny):
    """Writes the clips and catalog.json; returns the ids that copy a work."""
    out.mkdir(parents=True, exist_ok=True)
    copies = count // 4
    catalog, truth = [], {}
    for i in range(count):
        vid = f"u{i:03d}"
        path = out / f"{vid}.mp4"
        if i < copies:
            src, work, length = (bikes, "Bikes", 10.0) if i % 2 == 0 else (bunny, "Big Buck Bunny", 5.3)
            start = (i // 2) % 4 * 0.5 if work == "Bikes" else 0.0
            crop = 0.80 + (i % 5) * 0.04
            # Every copy differs (its width), so none is skipped as a duplicate file.
            vf = f"crop=iw*{crop:.2f}:ih*{crop:.2f},scale={400 + 4 * i}:-2" + (",hflip" if i % 3 == 0 else "")
            if not path.exists():
                ffmpeg(["-ss", str(start), "-i", str(src), "-t", "5", "-vf", vf, *ENCODE, str(path)])
            truth[vid] = work
        else:
            k = i - copies
            kind = k % 4
            source = [
                f"life=s=320x240:seed={k}:mold=10:rate=25:ratio=0.{k % 9 + 1}",
                f"cellauto=s=320x240:rule={30 + k % 200}:rate=25",
                f"mandelbrot=s=320x240:rate=25:start_x={-0.75 + k * 0.001}:start_scale={3.0 + k * 0.01}",
                f"testsrc2=s=320x240:rate=25,hue=h={k * 7}",
            ][kind]
            if not path.exists():
                ffmpeg(["-f", "lavfi", "-i", source, "-t", "5", *ENCODE, str(path)])
        catalog.append({"id": vid, "file": path.name, "title": f"upload {vid}",
                        "uploader": f"user{i % 17}", "channel": "UC-bench"})
    (out / "catalog.json").write_text(json.dumps(catalog))
    return truth


def run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def capture_times(database):
    """(finished captures, seconds they took in all) from the data dir's database."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT started_at, finished_at FROM captures "
                          "WHERE state = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL").fetchall()
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))
    return len(rows), sum((parse(end) - parse(start)).total_seconds() for start, end in rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--write-results", action="store_true")
    opts = parser.parse_args()
    binary = str(Path(opts.bin).resolve())
    bikes, bunny = works_footage()
    work = WORK / "scan"
    uploads = work / "uploads"
    log(f"making {opts.count} uploads in {uploads}")
    truth = make_uploads(uploads, opts.count, bikes, bunny)

    data = work / "data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    data.mkdir(parents=True)
    run([binary, "--data-dir", str(data), "register", str(bikes), "--title", "Bikes"])
    run([binary, "--data-dir", str(data), "register", str(bunny), "--title", "Big Buck Bunny"])

    platform = subprocess.Popen([binary, "mock-platform", "--media-dir", str(uploads)],
                                stdout=subprocess.PIPE, text=True)
    try:
        base = platform.stdout.readline().strip()
        config = work / "reelguard.toml"
        config.write_text(
            f"[daemon]\nworkers = {opts.workers}\nretention = \"delete\"\n\n"
            f"[[sources]]\nname = \"bench\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n"
            "allow_loopback = true\nrate_limit_per_minute = 100000\nschedule = \"0 0 0 1 1 *\"\n")
        daemon_log = work / "daemon.log"
        env = dict(os.environ, REELGUARD_LOG="info", NO_COLOR="1")
        with open(daemon_log, "w") as logf:
            started = time.monotonic()
            daemon = subprocess.Popen(
                [binary, "--data-dir", str(data), "--config", str(config), "daemon"],
                stdout=subprocess.DEVNULL, stderr=logf, env=env)
            status = None
            while time.monotonic() - started < 3600:
                time.sleep(0.5)
                out = subprocess.run([binary, "--data-dir", str(data), "scans", "list", "--json"],
                                     capture_output=True, text=True)
                scans = json.loads(out.stdout or '{"scans": []}')["scans"]
                if scans and scans[0]["status"] in ("done", "failed"):
                    status = scans[0]
                    break
            elapsed = time.monotonic() - started
            daemon.send_signal(signal.SIGTERM)
            _, _, usage = os.wait4(daemon.pid, 0)
            peak_mib = usage.ru_maxrss / 1024
    finally:
        platform.terminate()
        platform.wait()
    if status is None:
        sys.exit("error: the scan did not finish within an hour; see target/bench/scan/daemon.log")

    text = re.sub(r"\x1b\[[0-9;]*m", "", daemon_log.read_text())
    stages = {"download_s": 0.0, "decode_s": 0.0, "match_s": 0.0}
    processed = 0
    for line in text.splitlines():
        if "candidate processed" not in line:
            continue
        processed += 1
        for key in stages:
            m = re.search(rf"{key}=([0-9.e-]+)", line)
            if m:
                stages[key] += float(m.group(1))
    total_stage = sum(stages.values()) or 1.0

    matches = json.loads(subprocess.run([binary, "--data-dir", str(data), "matches", "list", "--json"],
                                        capture_output=True, text=True, check=True).stdout)["matches"]
    found = {m["candidate_url"].rsplit("/", 1)[-1]: m for m in matches}
    true_pos = sum(1 for vid in truth if vid in found)
    false_pos = sum(1 for vid in found if vid not in truth)

    rate = status["candidates"] / elapsed * 60
    captures, capture_s = capture_times(data / "reelguard.db")
    rows = [
        "| measure | value |",
        "|---|---|",
        f"| candidates (5 s H.264 clips, 400-600 px wide copies, 320x240 others) | {status['candidates']} ({len(truth)} copies, {status['candidates'] - len(truth)} unrelated) |",
        f"| daemon workers | {opts.workers} |",
        f"| wall time, daemon start to scan done (candidates, and the evidence capture of each match) | {elapsed:.1f} s |",
        f"| throughput | {rate:.0f} candidates per minute, captures included |",
        f"| time in download (mock platform on 127.0.0.1) | {stages['download_s']:.1f} s ({stages['download_s'] / total_stage:.0%}) |",
        f"| time in decode + fingerprint | {stages['decode_s']:.1f} s ({stages['decode_s'] / total_stage:.0%}) |",
        f"| time in match (index lookups, alignment) | {stages['match_s']:.1f} s ({stages['match_s'] / total_stage:.0%}) |",
        f"| evidence captures (page, Chromium screenshot and PDF, media copy, frame pairs) | {captures}, {capture_s:.1f} s in all ({capture_s / max(captures, 1):.1f} s each) |",
        f"| copies found | {true_pos} of {len(truth)} |",
        f"| unrelated clips matched | {false_pos} |",
        f"| scan errors | {len(status['errors'])} |",
        f"| daemon peak resident memory | {peak_mib:.0f} MiB |",
    ]
    table = "\n".join(rows)
    print(table)
    report = (
        "Stage times are summed over the candidates from the daemon's log (workers run\n"
        "in parallel, so they add up to more than the wall time); shares are of their sum.\n\n"
        + table + "\n")
    (WORK / "scan.md").write_text(report)
    if opts.write_results:
        results = ROOT / "bench" / "results" / "scan.md"
        results.parent.mkdir(parents=True, exist_ok=True)
        load = " ".join(open("/proc/loadavg").read().split()[:3])
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=ROOT).stdout.strip() or "none"
        header = (
            "# reelguard scan benchmark\n\n"
            f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
            f"- Machine: {os.cpu_count()} cores; load average before: {load}\n"
            f"- Commit: {commit}\n"
            "- Run: `python3 bench/scan.py --bin target/release/reelguard --write-results` "
            "(also the last step of `make bench`)\n\n")
        results.write_text(header + report)
        log(f"wrote {results}")
    if processed + len(status["errors"]) != status["candidates"]:
        log("warning: some candidates were skipped as duplicate files; the throughput is not of 200 decodes")
        log(f"note: {processed} candidates processed and {len(status['errors'])} errors "
            f"for {status['candidates']} candidates")


if __name__ == "__main__":
    main()
