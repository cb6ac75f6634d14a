"""HTTP benchmark: the dashboard's inbox and the JSON API over a store of
10,000 matches.

Makes a fresh data directory under target/bench/http/ (SQLite), registers
fixtures/bikes.mp4 and fixtures/bigbuckbunny.mp4 with `reelguard register`,
then writes 10,000 synthetic scans/candidates/matches (with captures and
review history for the reviewed ones) straight into the database reelguard
created, in its own formats (32-hex time-ordered ids, RFC 3339 UTC times to
the millisecond, lowercase status names). Then `reelguard serve` on a free
port of 127.0.0.1 and:

  (a) 200 sequential requests each (after 10 unmeasured ones) to
      GET /inbox (a signed-in browser: session cookie) and
      GET /api/v1/matches (Authorization: Bearer), on one keep-alive
      connection, with varied pages and filters: p50/p95/max time to the
      last byte measured by the client, and the server's own mean from its
      /metrics latency histogram;
  (b) 200 concurrent viewers for 30 s, each on its own keep-alive
      connection, alternating at random between the inbox and the API with
      0.5-1.5 s between a viewer's requests: requests per second, p50/p95/p99
      and errors (goal: no errors, inbox p95 <= 100 ms);
  (c) the same 200 connections without pauses for 15 s: the capacity;
  and the SQL of a listing (page and count) timed on the same database
  file with Python's sqlite3, with SQLite's query plan.

The binary is target/release/reelguard when it exists and is newer than the
sources, else target/debug/reelguard (the results say which); --bin
overrides. The load generator is this script (asyncio, raw HTTP/1.1 over
sockets) on the same machine: it shares the CPU with the server.

Prints the tables and writes bench/results/http.md.

Usage: python3 bench/dashboard_load.py [--bin PATH] [--matches 10000] [--viewers 200]
           [--seconds 30] [--saturate-seconds 15] [--no-write]
Standard library only.
"""

import os
import sys

# Its folder leaves the import path, so that no file of bench/ can stand
# in for a standard library module.
sys.path = [p for p in sys.path
            if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "target" / "bench" / "http"
OUT = ROOT / "bench" / "results" / "http.md"

PLATFORMS = ["youtube.com", "tiktok.com", "bilibili.com", "dailymotion.com", "x.com"]
SOURCES = ["yt-search", "tiktok-tags", "bilibili-feed", "dailymotion-page", "x-ytdlp"]
# Review statuses of the synthetic matches (most of an inbox is unreviewed).
STATUSES = [("pending", 0.60), ("confirmed", 0.15), ("dismissed", 0.13),
            ("licensed", 0.05), ("claimed", 0.05), ("resolved", 0.02)]
# What the review flow passed through to reach each status.
PATHS = {
    "pending": [],
    "confirmed": ["confirmed"],
    "dismissed": ["dismissed"],
    "licensed": ["licensed"],
    "claimed": ["confirmed", "claimed"],
    "resolved": ["confirmed", "claimed", "resolved"],
}
SEQUENTIAL = 200
WARMUP = 10
REQUEST_TIMEOUT_S = 10.0


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# --- the binary ---------------------------------------------------------------

def newest_source():
    """The newest modification time among the files the binary is built from."""
    newest = 0.0
    for name in ("Cargo.toml", "Cargo.lock", "build.rs"):
        p = ROOT / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    for folder in ("src", "migrations"):
        for p in (ROOT / folder).rglob("*"):
            if p.is_file():
                newest = max(newest, p.stat().st_mtime)
    return newest


def pick_binary(given):
    """(path, description)."""
    release, debug = ROOT / "target/release/reelguard", ROOT / "target/debug/reelguard"
    newest = newest_source()
    if given:
        path = Path(given).resolve()
        if not path.exists():
            sys.exit(f"error: --bin {given}: no such file")
        kind = {release: "release build", debug: "debug build"}.get(path, "given with --bin")
        stale = "" if path.stat().st_mtime >= newest else ", older than the sources"
        return path, f"{given} ({kind}{stale})"
    if release.exists() and release.stat().st_mtime >= newest:
        return release, "target/release/reelguard (release build, newer than the sources)"
    why = "no release build" if not release.exists() else "the release build is older than the sources"
    if debug.exists():
        stale = "" if debug.stat().st_mtime >= newest else "; older than the sources"
        return debug, (f"target/debug/reelguard (debug build{stale}: {why}; the dev profile optimizes "
                       "reelguard itself but not its dependencies, SQLite's C code among them)")
    sys.exit("error: neither target/release/reelguard nor target/debug/reelguard exists; run cargo build --release")


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELGUARD_")}
    env["RUST_LOG"] = env.get("RUST_LOG", "warn")
    return env


def reelguard(binary, data, config, *args):
    out = subprocess.run([str(binary), "--data-dir", str(data), "--config", str(config), *args],
                         capture_output=True, text=True, env=clean_env())
    if out.returncode != 0:
        sys.exit(f"error: reelguard {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


# --- the store ------------------------------------------------------------------

def stored(t):
    """reelguard's stored time: RFC 3339 UTC to the millisecond."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def time_id(rng, t):
    """A 32-hex UUID v7 (time-ordered) for time t, as reelguard's ids."""
    ms = int(t.timestamp() * 1000)
    rand = rng.getrandbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return f"{value:032x}"


def hex64(rng):
    return f"{rng.getrandbits(256):064x}"


def fill(db_path, works, count, rng):
    """Writes `count` matches (and their scans, candidates, captures and
    review history) over the last 90 days. Returns {status: count}."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now - timedelta(days=90)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA foreign_keys = ON")
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    per_scan = 100
    counts = {s: 0 for s in statuses}
    scans, candidates, matches, captures, history = [], [], [], [], []
    for i in range(count):
        found = start + timedelta(seconds=(90 * 86400) * i / count + rng.uniform(0, 60))
        platform_i = rng.randrange(len(PLATFORMS))
        platform, source = PLATFORMS[platform_i], SOURCES[platform_i]
        if i % per_scan == 0:
            scan_id = time_id(rng, found - timedelta(minutes=5))
            n = min(per_scan, count - i)
            scans.append((scan_id, source, "done", stored(found - timedelta(minutes=5)),
                          stored(found + timedelta(minutes=20)), n * 3, n * 2, n, "[]"))
        cand_id = time_id(rng, found - timedelta(seconds=30))
        url = f"https://www.{platform}/watch/{i:06d}-{rng.getrandbits(40):010x}"
        published = found - timedelta(hours=rng.uniform(1, 72))
        media_sha = hex64(rng)
        duration = round(rng.uniform(8, 600), 3)
        candidates.append((cand_id, source, scan_id, url, platform, f"uploader-{rng.randrange(2000)}",
                           f"reupload #{i} {rng.choice(['full', 'clip', 'mirror', '1080p', '合集'])}",
                           stored(published), f"https://cdn.{platform}/{i:06d}.mp4", media_sha,
                           rng.randrange(1_000_000, 200_000_000), duration, "done", None, None,
                           stored(found - timedelta(seconds=30)), stored(found)))
        work_id, work_s = works[i % len(works)]
        segments = []
        t0 = 0.0
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            length = rng.uniform(3, max(3.5, work_s / 2))
            ws = rng.uniform(0, max(0.0, work_s - length))
            segments.append({"score": round(rng.uniform(0.5, 0.98), 3), "query_start_s": round(t0, 3),
                             "query_end_s": round(t0 + length, 3), "work_start_s": round(ws, 3),
                             "work_end_s": round(ws + length, 3), "matched_frames": int(length * 8),
                             "speed": rng.choice([1.0, 1.0, 1.0, 0.9, 1.1])})
            t0 += length + rng.uniform(0, 20)
        score = max(s["score"] for s in segments)
        status = rng.choices(statuses, weights)[0]
        counts[status] += 1
        match_id = time_id(rng, found)
        matches.append((match_id, work_id, cand_id, score, json.dumps(segments), status, stored(found)))
        if rng.random() < 0.9:
            files = [{"path": p, "sha256": hex64(rng), "size": rng.randrange(10_000, 3_000_000)}
                     for p in ("page.html", "screenshot.png", "page.pdf", "frames/pair-1.png",
                               "frames/pair-2.png", "timeline.png", "capture-manifest.json")]
            captures.append((match_id, "done", 1, None, json.dumps(files), hex64(rng), None,
                             "http://127.0.0.1:3180/tsa", stored(found + timedelta(minutes=2)),
                             stored(found + timedelta(minutes=1)), stored(found + timedelta(minutes=2)),
                             stored(found)))
        at, before = found, "pending"
        for step in PATHS[status]:
            at = at + timedelta(hours=rng.uniform(1, 48))
            history.append((time_id(rng, at), match_id, before, step, rng.choice([None, "checked"]),
                            stored(at), rng.choice(["Rui Reviewer", "Ada Admin", None])))
            before = step
    with con:
        con.executemany("INSERT INTO scans (id, source, status, started_at, ended_at, candidates, "
                        "new_candidates, new_matches, errors) VALUES (?,?,?,?,?,?,?,?,?)", scans)
        con.executemany("INSERT INTO candidates (id, source, scan_id, canonical_url, platform, uploader, "
                        "title, published_at, media_url, media_sha256, media_bytes, duration_s, status, "
                        "duplicate_of, error, created_at, processed_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", candidates)
        con.executemany("INSERT INTO matches (id, work_id, candidate_id, score, segments, status, created_at) "
                        "VALUES (?,?,?,?,?,?,?)", matches)
        con.executemany("INSERT INTO captures (match_id, state, attempts, error, files, manifest_sha256, "
                        "token, tsa_url, tsa_time, started_at, finished_at, created_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", captures)
        con.executemany("INSERT INTO match_status_history (id, match_id, from_status, to_status, note, at, actor) "
                        "VALUES (?,?,?,?,?,?,?)", history)
    con.execute("ANALYZE")
    con.close()
    return counts, len(captures), len(history)


# The listing queries as src/store/matches.rs (page_of_matches) issues them:
# the count and the page's ids (candidates joined only when a filter needs
# them), then the page's rows by id.
IDS_SQL = "SELECT m.id FROM {source}{where} ORDER BY m.created_at DESC, m.id DESC LIMIT 50 OFFSET {offset}"
COUNT_SQL = "SELECT COUNT(*) FROM {source}{where}"
ROWS_SQL = (
    "SELECT m.id, m.work_id, w.title AS work_title, w.duration_s AS work_duration_s, m.candidate_id, "
    "c.canonical_url, c.platform, c.uploader, c.title AS candidate_title, c.published_at, c.media_url, "
    "c.media_sha256, c.source, c.scan_id, m.score, m.status, m.segments, m.created_at "
    "FROM matches m JOIN candidates c ON c.id = m.candidate_id JOIN works w ON w.id = m.work_id "
    "WHERE m.id IN ({marks}) ORDER BY m.created_at DESC, m.id DESC")
MATCHES_ONLY = "matches m"
WITH_CANDIDATES = "matches m JOIN candidates c ON c.id = m.candidate_id"


def query_costs(db_path, counts):
    """[(listing, ms per count + ids + rows, plan of the ids query)] with Python's sqlite3 (an optimized SQLite)."""
    con = sqlite3.connect(db_path)
    total = sum(counts.values())
    cases = [("pending, page 1", MATCHES_ONLY, " WHERE m.status = 'pending'", 0),
             ("pending, last page", MATCHES_ONLY, " WHERE m.status = 'pending'", counts["pending"] - 50),
             ("all statuses, page 1", MATCHES_ONLY, "", 0),
             ("all statuses, last page", MATCHES_ONLY, "", total - 50),
             ("one platform, page 1", WITH_CANDIDATES, " WHERE c.platform = 'tiktok.com'", 0)]
    out = []
    for label, source, where, offset in cases:
        ids_sql = IDS_SQL.format(source=source, where=where, offset=max(0, offset))
        count = COUNT_SQL.format(source=source, where=where)
        plan = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + ids_sql)]
        t0 = time.perf_counter()
        for _ in range(10):
            ids = [row[0] for row in con.execute(ids_sql)]
            if ids:
                con.execute(ROWS_SQL.format(marks=", ".join("?" * len(ids))), ids).fetchall()
            con.execute(count).fetchone()
        out.append((label, (time.perf_counter() - t0) / 10 * 1000, "; ".join(plan)))
    con.close()
    return out


# --- the server -----------------------------------------------------------------

class Server:
    def __init__(self, binary, data, config, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(binary), "--data-dir", str(data), "--config", str(config), "serve", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, text=True, env=clean_env())
        first = self.proc.stdout.readline()
        m = re.search(r"listening on ([0-9.]+):(\d+)\)", first)
        if not m:
            self.stop()
            sys.exit(f"error: reelguard serve printed {first!r}; see {log_path}")
        self.host, self.port = m.group(1), int(m.group(2))
        # Keep its standard output drained.
        threading.Thread(target=lambda: self.proc.stdout.read(), daemon=True).start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def sign_in(server, token):
    """A session cookie, as a browser gets it from the sign-in form."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT_S)
    body = urllib.parse.urlencode({"token": token, "next": "/inbox"})
    conn.request("POST", "/signin", body, {"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    cookie = resp.getheader("Set-Cookie") or ""
    conn.close()
    if resp.status != 303 or not cookie:
        sys.exit(f"error: signing in answered {resp.status} without a session cookie")
    return cookie.split(";")[0]


def server_means(server):
    """{route: (count, sum_s)} of GET requests from /metrics."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT_S)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    out = {}
    for line in text.splitlines():
        m = re.match(r'reelguard_http_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if labels.get("method") != "GET":
            continue
        count, total = out.get(labels.get("route"), (0.0, 0.0))
        if m.group(1) == "count":
            count += float(m.group(3))
        else:
            total += float(m.group(3))
        out[labels.get("route")] = (count, total)
    return out


# --- requests -------------------------------------------------------------------

class Urls:
    """Varied inbox pages and API listings over the store just made."""

    def __init__(self, counts, works, days):
        self.counts, self.works, self.days = counts, works, days

    def inbox(self, rng):
        pending_pages = max(1, self.counts["pending"] // 50)
        all_pages = max(1, sum(self.counts.values()) // 50)
        day = rng.choice(self.days)
        return rng.choice([
            "/inbox",
            f"/inbox?page={rng.randint(1, pending_pages)}",
            f"/inbox?status=all&page={rng.randint(1, all_pages)}",
            f"/inbox?status=confirmed&page={rng.randint(1, max(1, self.counts['confirmed'] // 50))}",
            f"/inbox?platform={rng.choice(PLATFORMS)}",
            f"/inbox?source={rng.choice(SOURCES)}&page=2",
            f"/inbox?work={rng.choice(self.works)[0]}&since={day}",
            f"/inbox?status=all&since={day}&until={day}",
        ])

    def api(self, rng):
        total = sum(self.counts.values())
        day = rng.choice(self.days)
        return rng.choice([
            "/api/v1/matches",
            f"/api/v1/matches?limit=50&offset={rng.randrange(0, total - 50)}",
            f"/api/v1/matches?status=pending&limit=100&offset={rng.randrange(0, self.counts['pending'] // 2)}",
            f"/api/v1/matches?platform={rng.choice(PLATFORMS)}&limit=20",
            f"/api/v1/matches?source={rng.choice(SOURCES)}&status=confirmed",
            f"/api/v1/matches?work={rng.choice(self.works)[0]}&since={day}&limit=200",
            f"/api/v1/matches?since={day}&until={day}",
        ])


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def sequential(server, kind, urls, headers, rng):
    """Times `SEQUENTIAL` requests on one keep-alive connection: (ms list, errors, bytes)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=REQUEST_TIMEOUT_S)
    times, errors, size = [], 0, 0
    for i in range(WARMUP + SEQUENTIAL):
        url = urls.inbox(rng) if kind == "inbox" else urls.api(rng)
        t0 = time.perf_counter()
        conn.request("GET", url, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = (time.perf_counter() - t0) * 1000
        if i < WARMUP:
            continue
        times.append(elapsed)
        size += len(body)
        if resp.status != 200:
            errors += 1
            if errors <= 3:
                log(f"{kind}: GET {url} answered {resp.status}: {body[:200]!r}")
    conn.close()
    return times, errors, size


class Load:
    """Latencies and failures of a load run, per kind."""

    def __init__(self):
        self.times = {"inbox": [], "api": []}
        self.errors = {"inbox": 0, "api": 0}
        self.reasons = {}

    def fail(self, kind, reason):
        self.errors[kind] += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


async def fetch(reader, writer, host, path, headers):
    """One GET on an open connection: (status, body length, keep the connection)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    fields = {}
    for line in header_lines:
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
        length = len(body)
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        length = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            length += len(await reader.readexactly(size + 2)) - 2
    else:
        body = await reader.read()
        return status, len(body), False
    return status, length, fields.get("connection", "").lower() != "close"


async def viewer(n, server, urls, cookie, token, stop_at, think, load):
    rng = random.Random(1000 + n)
    conn = None
    host = f"{server.host}:{server.port}"
    if think:
        await asyncio.sleep(rng.uniform(0, think[1]))  # viewers arrive spread out
    while time.monotonic() < stop_at:
        kind = rng.choice(["inbox", "api"])
        if kind == "inbox":
            path, headers = urls.inbox(rng), {"Cookie": cookie}
        else:
            path, headers = urls.api(rng), {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        t0 = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.wait_for(asyncio.open_connection(server.host, server.port), REQUEST_TIMEOUT_S)
            status, _, keep = await asyncio.wait_for(fetch(*conn, host, path, headers), REQUEST_TIMEOUT_S)
            elapsed = (time.perf_counter() - t0) * 1000
            load.times[kind].append(elapsed)
            if status != 200:
                load.fail(kind, f"HTTP {status}")
            if not keep:
                conn[1].close()
                conn = None
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
            load.fail(kind, type(e).__name__)
            if conn is not None:
                conn[1].close()
                conn = None
        if think:
            await asyncio.sleep(rng.uniform(*think))
    if conn is not None:
        conn[1].close()


async def run_load(server, urls, cookie, token, viewers, seconds, think):
    load = Load()
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(*(viewer(n, server, urls, cookie, token, stop_at, think, load)
                           for n in range(viewers)))
    return load, time.monotonic() - started


# --- the report -----------------------------------------------------------------

def ms(v):
    return f"{v:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="the reelguard binary (default: see above)")
    ap.add_argument("--matches", type=int, default=10_000)
    ap.add_argument("--viewers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--saturate-seconds", type=float, default=15, help="0: no saturation run")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/results/http.md alone")
    args = ap.parse_args()
    if not 1 <= args.viewers <= 1000 or not 1 <= args.seconds <= 600 or not 0 <= args.saturate_seconds <= 600:
        sys.exit("error: keep --viewers within 1-1000 and the run times within 600 s")
    if args.matches < 1000:
        sys.exit("error: --matches: give at least 1000")

    began = time.monotonic()
    try:
        load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load_before = "unknown"
    binary, binary_note = pick_binary(args.bin)
    log(f"http bench: {binary_note}")
    if WORK.exists():
        shutil.rmtree(WORK)
    data = WORK / "data"
    data.mkdir(parents=True)
    config = WORK / "config.toml"
    config.write_text("# empty: the built-in defaults (no TSA, no sources)\n")

    # Two real works, then the synthetic matches in reelguard's own tables.
    works = []
    for name, title in (("bikes.mp4", "Dawn ride"), ("bigbuckbunny.mp4", "Big Buck Bunny")):
        out = reelguard(binary, data, config, "register", str(ROOT / "fixtures" / name), "--title", title, "--json")
        registered = json.loads(out)
        works.append((registered["work_id"], float(registered["duration_s"])))
    t0 = time.monotonic()
    counts, n_captures, n_history = fill(data / "reelguard.db", works, args.matches, random.Random(7))
    fill_s = time.monotonic() - t0
    log(f"http bench: {args.matches} matches written in {fill_s:.1f} s: {counts}")
    costs = query_costs(data / "reelguard.db", counts)
    viewer_token = json.loads(reelguard(binary, data, config, "tokens", "create", "bench viewer",
                                        "--role", "viewer", "--json"))["token"]
    today = datetime.now(timezone.utc).date()
    days = [(today - timedelta(days=d)).isoformat() for d in range(0, 90, 3)]
    urls = Urls(counts, works, days)

    server = Server(binary, data, config, WORK / "serve.log")
    try:
        cookie = sign_in(server, viewer_token)
        rng = random.Random(11)
        before = server_means(server)
        inbox_t, inbox_err, inbox_bytes = sequential(server, "inbox", urls, {"Cookie": cookie}, rng)
        api_t, api_err, api_bytes = sequential(server, "api", urls, {"Authorization": f"Bearer {viewer_token}"}, rng)
        after = server_means(server)

        def server_mean(route):
            c0, s0 = before.get(route, (0, 0))
            c1, s1 = after.get(route, (0, 0))
            return (s1 - s0) / (c1 - c0) * 1000 if c1 > c0 else float("nan")

        log(f"http bench: {args.viewers} viewers for {args.seconds:.0f} s")
        viewers, viewers_s = asyncio.run(run_load(server, urls, cookie, viewer_token, args.viewers,
                                                  args.seconds, (0.5, 1.5)))
        saturated = None
        if args.saturate_seconds > 0:
            log(f"http bench: {args.viewers} connections without pauses for {args.saturate_seconds:.0f} s")
            saturated = asyncio.run(run_load(server, urls, cookie, viewer_token, args.viewers,
                                             args.saturate_seconds, None))
        alive = server.proc.poll() is None
    finally:
        server.stop()

    # Tables.
    total = sum(counts.values())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "none"
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "migrations", "Cargo.toml"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [
        "# reelguard HTTP benchmark",
        "",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} cores, {cpu}; load average before the run: {load_before} "
        "(other work on the machine skews the numbers)",
        f"- Commit: {commit}{' (uncommitted changes in src/)' if dirty else ''}",
        f"- Binary: {binary_note}",
        f"- Store: SQLite, {total:,} matches of 2 registered works (fixtures/bikes.mp4, bigbuckbunny.mp4) over 90 days "
        f"in {total // 100} scans from {len(SOURCES)} sources: "
        + ", ".join(f"{counts[s]:,} {s}" for s, _ in STATUSES)
        + f"; {n_captures:,} captures, {n_history:,} review steps (synthetic rows, written in {fill_s:.1f} s)",
        "- Client: this script on the same machine (Python asyncio, raw HTTP/1.1, keep-alive), sharing the CPU "
        "with the server; times are to the last byte of the answer, on 127.0.0.1",
        "- Inbox: signed in with a session cookie (a viewer's token); API: `Authorization: Bearer` (the same token). "
        "Pages and filters vary: deep pages (up to the last), status, platform, source, work and day filters, "
        "API pages of 20-200",
        "",
        f"## Sequential: {SEQUENTIAL} requests each, one connection",
        "",
        "| Endpoint | Requests | p50 ms | p95 ms | max ms | Server mean ms (/metrics) | Mean answer | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, route, t, err, size in (("GET /inbox", "/inbox", inbox_t, inbox_err, inbox_bytes),
                                       ("GET /api/v1/matches", "/api/v1/matches", api_t, api_err, api_bytes)):
        lines.append(f"| `{label}` | {len(t)} | {ms(percentile(t, 50))} | {ms(percentile(t, 95))} | "
                     f"{ms(max(t))} | {ms(server_mean(route))} | {size / max(1, len(t)) / 1024:.0f} KiB | {err} |")

    def load_table(title, load, seconds, note):
        out = ["", f"## {title}", "", note, "",
               "| Endpoint | Requests | Requests/s | p50 ms | p95 ms | p99 ms | Errors |",
               "|---|---:|---:|---:|---:|---:|---:|"]
        for kind, label in (("inbox", "GET /inbox"), ("api", "GET /api/v1/matches")):
            t = load.times[kind]
            out.append(f"| `{label}` | {len(t)} | {len(t) / seconds:.0f} | {ms(percentile(t, 50))} | "
                       f"{ms(percentile(t, 95))} | {ms(percentile(t, 99))} | {load.errors[kind]} |")
        both = load.times["inbox"] + load.times["api"]
        errors = sum(load.errors.values())
        out.append(f"| all | {len(both)} | {len(both) / seconds:.0f} | {ms(percentile(both, 50))} | "
                   f"{ms(percentile(both, 95))} | {ms(percentile(both, 99))} | {errors} |")
        if load.reasons:
            out += ["", "Errors: " + ", ".join(f"{k} × {v}" for k, v in sorted(load.reasons.items()))]
        return out

    v_load, v_s = viewers, viewers_s
    lines += load_table(
        f"{args.viewers} concurrent viewers, {args.seconds:.0f} s", v_load, v_s,
        f"Each viewer has its own keep-alive connection and picks the inbox or the API at random, "
        f"with 0.5-1.5 s between its requests (arrivals spread over the first 1.5 s).")
    inbox_p95 = percentile(v_load.times["inbox"], 95)
    v_errors = sum(v_load.errors.values())
    verdict = "met" if v_errors == 0 and inbox_p95 <= 100 else "NOT met"
    lines += ["", f"Goal (no errors, inbox p95 ≤ 100 ms): **{verdict}** "
                  f"({v_errors} errors, inbox p95 {ms(inbox_p95)} ms)."]
    if saturated:
        s_load, s_s = saturated
        lines += load_table(
            f"Capacity: {args.viewers} connections without pauses, {args.saturate_seconds:.0f} s", s_load, s_s,
            "Each connection sends its next request as soon as the answer is in: the requests per second are "
            "what this machine serves (with the client on it); the times are mostly queueing.")
    lines += ["", "## Where a listing's time goes: its SQL on this store", "",
              "The count, the page's ids and the page's rows of `page_of_matches` (src/store/matches.rs), timed "
              "with Python's sqlite3 on the same database file, and SQLite's plan for the ids query.", "",
              "| Listing | Count + ids + rows ms | Plan of the ids query |", "|---|---:|---|"]
    for label, cost, plan in costs:
        lines.append(f"| {label} | {cost:.2f} | {plan} |")
    if not alive:
        lines += ["", "**The server exited during the run; see target/bench/http/serve.log.**"]
    lines += ["", f"Bench wall time: {time.monotonic() - began:.0f} s (`python3 bench/dashboard_load.py`)."]
    report = "\n".join(lines) + "\n"
    print(report)
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(report)
        log(f"http bench: wrote {OUT.relative_to(ROOT)}")
    if not alive:
        sys.exit(1)


if __name__ == "__main__":
    main()
