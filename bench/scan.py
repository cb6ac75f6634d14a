"""Daemon scan benchmark: 200 candidate videos on the mock platform, on
SQLite and on PostgreSQL in the same run.

Makes 200 five-second uploads (50 disguised copies of the two registered
works, 150 unrelated clips from ffmpeg's lavfi sources), serves them with
`reelguard mock-platform` on 127.0.0.1 as one Media RSS feed, and for each
database starts `reelguard daemon` on a fresh data directory (and, for
PostgreSQL, a fresh database on 127.0.0.1:5432) and waits until every
candidate is processed. Reports, side by side, candidates per minute, the
share of processing time spent downloading, decoding (and fingerprinting)
and matching (summed from the daemon's per-candidate log lines), the matches
found against the truth, and the daemon's peak resident memory. Writes
target/bench/scan.md (and bench/results/scan.md when run from bench/run.sh
or with --write-results).

Usage: python3 bench/scan.py --bin target/release/reelguard [--count 200]
           [--backends sqlite,postgres] [--postgres postgres://postgres@127.0.0.1:5432]
           [--write-results]
Standard library only; PostgreSQL through the `psql` client.
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


CAPTURES = ("SELECT started_at, finished_at FROM captures "
            "WHERE state = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL")


def psql(server, database, sql):
    """Runs one statement with psql; returns its rows (fields split on '|')."""
    out = subprocess.run(["psql", f"{server}/{database}", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: psql on {server}/{database}: {out.stderr.strip()} "
                 "(is PostgreSQL running there? pass --postgres or --backends sqlite)")
    return [line.split("|") for line in out.stdout.splitlines() if line]


class Backend:
    """A fresh database for one run: SQLite in the data dir, or a new PostgreSQL database."""

    def __init__(self, name, data, server):
        self.name, self.data, self.server = name, data, server
        self.database = f"reelguard_bench_{os.getpid()}" if name == "postgres" else None

    def __enter__(self):
        if self.database:
            psql(self.server, "postgres", f"DROP DATABASE IF EXISTS {self.database}")
            psql(self.server, "postgres", f"CREATE DATABASE {self.database}")
        return self

    def __exit__(self, *exc):
        if self.database:
            psql(self.server, "postgres", f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")

    def env(self):
        env = dict(os.environ)
        env.pop("REELGUARD_DATABASE_URL", None)
        if self.database:
            env["REELGUARD_DATABASE_URL"] = f"{self.server}/{self.database}"
        return env

    def capture_times(self):
        """(finished captures, seconds they took in all)."""
        if self.database:
            rows = psql(self.server, self.database, CAPTURES)
        else:
            with sqlite3.connect(self.data / "reelguard.db") as db:
                rows = db.execute(CAPTURES).fetchall()
        parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))
        return len(rows), sum((parse(end) - parse(start)).total_seconds() for start, end in rows)


def scan_once(binary, backend, opts, uploads, truth, bikes, bunny):
    """One daemon run on `backend`; returns its measures."""
    data = backend.data
    subprocess.run(["rm", "-rf", str(data)], check=True)
    data.mkdir(parents=True)
    env = backend.env()

    def rg(*args, **kw):
        return subprocess.run([binary, "--data-dir", str(data), *args], env=env, **kw)

    rg("register", str(bikes), "--title", "Bikes", check=True, stdout=subprocess.DEVNULL)
    rg("register", str(bunny), "--title", "Big Buck Bunny", check=True, stdout=subprocess.DEVNULL)

    platform = subprocess.Popen([binary, "mock-platform", "--media-dir", str(uploads)],
                                stdout=subprocess.PIPE, text=True)
    work = data.parent
    try:
        base = platform.stdout.readline().strip()
        config = work / f"reelguard-{backend.name}.toml"
        config.write_text(
            f"[daemon]\nworkers = {opts.workers}\nretention = \"delete\"\n\n"
            f"[[sources]]\nname = \"bench\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n"
            "allow_loopback = true\nrate_limit_per_minute = 100000\nschedule = \"0 0 0 1 1 *\"\n")
        daemon_log = work / f"daemon-{backend.name}.log"
        daemon_env = dict(env, REELGUARD_LOG="info", NO_COLOR="1", REELGUARD_HTTP_LISTEN="127.0.0.1:0")
        with open(daemon_log, "w") as logf:
            started = time.monotonic()
            daemon = subprocess.Popen(
                [binary, "--data-dir", str(data), "--config", str(config), "daemon"],
                stdout=subprocess.DEVNULL, stderr=logf, env=daemon_env)
            status = None
            while time.monotonic() - started < 3600:
                time.sleep(0.5)
                out = rg("scans", "list", "--json", capture_output=True, text=True)
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
        sys.exit(f"error: the {backend.name} scan did not finish within an hour; see {daemon_log}")

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

    matches = json.loads(rg("matches", "list", "--json", capture_output=True, text=True,
                            check=True).stdout)["matches"]
    found = {m["candidate_url"].rsplit("/", 1)[-1]: m for m in matches}
    captures, capture_s = backend.capture_times()
    if processed + len(status["errors"]) != status["candidates"]:
        log(f"warning ({backend.name}): {processed} candidates processed and {len(status['errors'])} "
            f"errors for {status['candidates']} candidates; some were skipped as duplicate files")
    return {
        "status": status, "elapsed": elapsed, "peak_mib": peak_mib, "stages": stages,
        "true_pos": sum(1 for vid in truth if vid in found),
        "false_pos": sum(1 for vid in found if vid not in truth),
        "captures": captures, "capture_s": capture_s,
    }


def table(results, truth, workers):
    """The measures of every run side by side."""
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL 15"}
    runs = list(results.items())

    def row(label, cell):
        return f"| {label} | " + " | ".join(cell(r) for _, r in runs) + " |"

    def stage(key):
        def cell(r):
            total = sum(r["stages"].values()) or 1.0
            return f"{r['stages'][key]:.1f} s ({r['stages'][key] / total:.0%})"
        return cell

    rate = lambda r: r["status"]["candidates"] / r["elapsed"] * 60
    rows = [
        "| measure | " + " | ".join(names[n] for n, _ in runs) + " |",
        "|---|" + "---|" * len(runs),
        row("candidates (5 s H.264 clips, 400-600 px wide copies, 320x240 others)",
            lambda r: f"{r['status']['candidates']} ({len(truth)} copies, {r['status']['candidates'] - len(truth)} unrelated)"),
        row("daemon workers", lambda r: str(workers)),
        row("wall time, daemon start to scan done (candidates, and the evidence capture of each match)",
            lambda r: f"{r['elapsed']:.1f} s"),
        row("throughput", lambda r: f"{rate(r):.0f} candidates per minute, captures included"),
        row("time in download (mock platform on 127.0.0.1)", stage("download_s")),
        row("time in decode + fingerprint", stage("decode_s")),
        row("time in match (index lookups, alignment)", stage("match_s")),
        row("evidence captures (page, Chromium screenshot and PDF, media copy, frame pairs)",
            lambda r: f"{r['captures']}, {r['capture_s']:.1f} s in all ({r['capture_s'] / max(r['captures'], 1):.1f} s each)"),
        row("copies found", lambda r: f"{r['true_pos']} of {len(truth)}"),
        row("unrelated clips matched", lambda r: str(r["false_pos"])),
        row("scan errors", lambda r: str(len(r["status"]["errors"]))),
        row("daemon peak resident memory", lambda r: f"{r['peak_mib']:.0f} MiB"),
    ]
    text = "\n".join(rows) + "\n"
    if "sqlite" in results and "postgres" in results:
        ratio = rate(results["postgres"]) / rate(results["sqlite"])
        text += (f"\nPostgreSQL's throughput is {ratio:.2f}x SQLite's "
                 f"({'within' if abs(ratio - 1) <= 0.2 else 'outside'} 20%).\n")
    return text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--backends", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (run in this order)")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server (trust auth); each run creates and drops its own database")
    parser.add_argument("--write-results", action="store_true")
    opts = parser.parse_args()
    backends = [b.strip() for b in opts.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in ("sqlite", "postgres")]
    if unknown or not backends:
        sys.exit(f"error: --backends {opts.backends!r}: use sqlite, postgres or both")
    binary = str(Path(opts.bin).resolve())
    bikes, bunny = works_footage()
    work = WORK / "scan"
    uploads = work / "uploads"
    log(f"making {opts.count} uploads in {uploads}")
    truth = make_uploads(uploads, opts.count, bikes, bunny)

    load = " ".join(open("/proc/loadavg").read().split()[:3])
    results = {}
    for name in backends:
        log(f"scanning on {name}")
        with Backend(name, work / f"data-{name}", opts.postgres) as backend:
            results[name] = scan_once(binary, backend, opts, uploads, truth, bikes, bunny)
    text = table(results, truth, opts.workers)
    print(text)
    report = (
        "Stage times are summed over the candidates from the daemon's log (workers run\n"
        "in parallel, so they add up to more than the wall time); shares are of their sum.\n"
        "The runs are one after the other on the same machine, same uploads, same binary.\n\n"
        + text)
    (WORK / "scan.md").write_text(report)
    if opts.write_results:
        results_file = ROOT / "bench" / "results" / "scan.md"
        results_file.parent.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=ROOT).stdout.strip() or "none"
        header = (
            "# reelguard scan benchmark\n\n"
            f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
            f"- Machine: {os.cpu_count()} cores; load average before: {load}\n"
            f"- Commit: {commit}\n"
            "- Run: `python3 bench/scan.py --bin target/release/reelguard --write-results` "
            "(also the last step of `make bench`)\n\n")
        results_file.write_text(header + report)
        log(f"wrote {results_file}")


if __name__ == "__main__":
    main()
