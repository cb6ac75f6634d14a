"""Cluster benchmark: the scan benchmark's 200 candidates through 1, 2 and 3
`reelguard daemon` nodes sharing one PostgreSQL database and its job queue,
and 3 nodes with evidence capture on one node only, in the same run.

Uses scan.py's uploads (50 disguised copies of the two registered works, 150
unrelated lavfi clips) served as one Media RSS feed by `reelguard
mock-platform` on 127.0.0.1. For each configuration it creates a fresh
PostgreSQL database, registers the two works once, starts every node (its own
data directory, the same database and blob directory, one worker each, a
dashboard on a free port), and waits until the source's single scan is done
(one node holds the scheduler lease, so the scan fires once for the cluster).
Then it stops the nodes and reads their CPU time and peak memory (wait4).

While a run goes, one psql session reads the `jobs` table every 0.2 s. From
those polls: how long each candidate job waited in the queue (its claim time,
the `updated_at` a claim writes, minus its `run_after`), how long a node's
worker took to claim its next job once it finished one while work was
waiting (the hand-off), and the share of polls in which a worker was free
while a candidate job was queued and due (idle workers).

Reports, with the runs as columns: wall time and candidates per minute,
candidates and captures per node (counted in each node's log), CPU seconds
per candidate (all nodes), the queue measures, and the matches found against
the truth. Writes target/bench/cluster.md (and bench/results/cluster.md
with --write-results, as bench/run.sh does).

Usage: python3 bench/cluster.py --bin target/release/reelguard [--count 200]
           [--nodes 1,2,3] [--postgres postgres://postgres@127.0.0.1:5432]
           [--write-results]
Standard library only; PostgreSQL through the `psql` client.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from benchlib import ROOT, WORK, log
from scan import Backend, make_uploads, psql, works_footage

POLL_S = 0.2
WORKERS_PER_NODE = 1
RUN_LIMIT_S = 3600
ALL_ROLES = ["scan", "candidate", "capture", "alerts", "scheduler"]
NO_CAPTURE = ["scan", "candidate", "alerts", "scheduler"]

# One round of the poller: the database's clock, every job but the scan's,
# and the scans; psql prints the marker when the round is complete.
POLL_SQL = (
    "SELECT 'now', extract(epoch FROM clock_timestamp()), '', '', '', '', '';\n"
    "SELECT 'job', id, kind, state, run_after, coalesce(lease_owner, ''), updated_at FROM jobs;\n"
    "SELECT 'scan', id, status, '', '', '', '' FROM scans;\n"
    "\\echo __END__\n"
)
MATCHED = ("SELECT canonical_url FROM candidates WHERE id IN "
           "(SELECT candidate_id FROM matches UNION SELECT candidate_id FROM match_locations)")
COUNTS = "SELECT (SELECT count(*) FROM matches), (SELECT count(*) FROM match_locations)"
CAPTURES = ("SELECT started_at, finished_at FROM captures WHERE state = 'done' AND finished_at IS NOT NULL UNION ALL "
            "SELECT started_at, finished_at FROM location_captures WHERE state = 'done' AND finished_at IS NOT NULL")


def epoch(stamp):
    """Seconds since the epoch of a stored RFC 3339 UTC time."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def check_postgres(server):
    if shutil.which("psql") is None:
        sys.exit("error: the psql client is not installed (Debian: apt-get install postgresql-client)")
    out = subprocess.run(["psql", f"{server}/postgres", "-X", "-At", "-c", "SELECT 1"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: cannot reach PostgreSQL at {server}: {out.stderr.strip()} "
                 "(start the server, or pass --postgres postgres://USER@HOST:PORT; trust auth)")


class Poller(threading.Thread):
    """Reads the job queue every POLL_S seconds through one psql session."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.polls = []  # (time, {job id: (kind, state, run_after, owner, updated_at)}, {scan id: status})
        self.error = None
        self.stopping = threading.Event()

    def run(self):
        psql = subprocess.Popen(["psql", self.url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            while not self.stopping.is_set():
                started = time.monotonic()
                psql.stdin.write(POLL_SQL)
                psql.stdin.flush()
                now, jobs, scans = None, {}, {}
                for line in iter(psql.stdout.readline, ""):
                    line = line.rstrip("\n")
                    if line == "__END__":
                        break
                    tag, *f = line.split("|")
                    if tag == "now":
                        now = float(f[0])
                    elif tag == "job":
                        jobs[f[0]] = (f[1], f[2], epoch(f[3]), f[4], epoch(f[5]))
                    elif tag == "scan":
                        scans[f[0]] = f[1]
                else:
                    self.error = f"psql on {self.url} stopped: {psql.stderr.read().strip()}"
                    return
                self.polls.append((now, jobs, scans))
                self.stopping.wait(max(0.0, POLL_S - (time.monotonic() - started)))
        finally:
            psql.stdin.close()
            psql.wait()

    def scan_done(self):
        """Whether the latest poll shows at least one scan and every scan ended."""
        if not self.polls:
            return False
        scans = self.polls[-1][2]
        return bool(scans) and all(s in ("done", "failed") for s in scans.values())


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def queue_measures(polls, workers):
    """Queue wait, hand-off and idle workers from the polls (see the docstring)."""
    jobs = {}  # id: {"kind", "run_after", "claimed", "finished", "owner", "seen"}
    for now, rows, _ in polls:
        for jid, (kind, state, run_after, owner, updated) in rows.items():
            j = jobs.setdefault(jid, {"kind": kind, "run_after": run_after, "claimed": None,
                                      "finished": None, "owner": None, "seen": None})
            j["run_after"] = run_after
            if state == "running":
                # A claim writes updated_at; a running job keeps it (lease renewals do not).
                j["claimed"], j["owner"] = updated, owner
            if state in ("running", "done", "failed") and j["seen"] is None:
                j["seen"] = now
            if state in ("done", "failed"):
                j["finished"] = updated
    candidates = [j for j in jobs.values() if j["kind"] == "candidate"]
    waits = [max(0.0, (j["claimed"] or j["seen"]) - j["run_after"])
             for j in candidates if j["seen"] is not None]
    unseen_running = sum(1 for j in candidates if j["claimed"] is None)

    # Hand-off: a node's next claim after its previous job finished, when the
    # job it claimed was already due at that moment (work was waiting).
    handoffs = []
    by_owner = {}
    for j in jobs.values():
        if j["owner"]:
            by_owner.setdefault(j["owner"], []).append(j)
    # Jobs never seen running have no owner: a gap they may sit in is left out.
    unowned_ends = [j["finished"] for j in jobs.values() if not j["owner"] and j["finished"]]
    for owned in by_owner.values():
        owned.sort(key=lambda j: j["claimed"])
        for prev, nxt in zip(owned, owned[1:]):
            end = prev["finished"]
            if end is None or nxt["run_after"] > end:
                continue
            if any(end < t < nxt["claimed"] for t in unowned_ends):
                continue
            handoffs.append(max(0.0, nxt["claimed"] - end))

    # Idle workers: polls of the candidate phase (the first poll that shows a
    # candidate job to the last one with a candidate job not ended) in which
    # fewer jobs ran than there are workers while a candidate job was queued and due.
    phase = [(now, rows) for now, rows, _ in polls
             if any(k == "candidate" for k, *_ in rows.values())]
    open_polls = [i for i, (_, rows) in enumerate(phase)
                  if any(k == "candidate" and s in ("queued", "running") for k, s, *_ in rows.values())]
    phase = phase[:open_polls[-1] + 1] if open_polls else []
    idle, longest, streak = 0, 0, 0
    for now, rows in phase:
        running = sum(1 for _, s, *_ in rows.values() if s == "running")
        waiting = any(k == "candidate" and s == "queued" and ra <= now for k, s, ra, *_ in rows.values())
        if running < workers and waiting:
            idle, streak = idle + 1, streak + 1
            longest = max(longest, streak)
        else:
            streak = 0
    return {"waits": waits, "handoffs": handoffs, "unseen_running": unseen_running,
            "idle": idle, "phase_polls": len(phase), "longest_idle_polls": longest,
            "polls": len(polls)}


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def write_config(path, base, blob_dir, roles):
    path.write_text(
        f"blob_dir = \"{blob_dir}\"\n\n"
        f"[daemon]\nworkers = {WORKERS_PER_NODE}\nretention = \"delete\"\nlease_s = 30\n"
        f"roles = {json.dumps(roles)}\n\n"
        f"[[sources]]\nname = \"bench\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n"
        "allow_loopback = true\nrate_limit_per_minute = 100000\nschedule = \"0 0 0 1 1 *\"\n")


def cluster_run(binary, server, name, roles_of_nodes, uploads, truth, bikes, bunny):
    """One configuration: len(roles_of_nodes) nodes on a fresh database."""
    run_dir = WORK / "cluster" / name
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)
    blob_dir = run_dir / "shared-blobs"
    blob_dir.mkdir(parents=True)
    datas = [run_dir / f"node{k + 1}" for k in range(len(roles_of_nodes))]
    for data in datas:
        data.mkdir()
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    platform = subprocess.Popen([binary, "mock-platform", "--media-dir", str(uploads)],
                                stdout=subprocess.PIPE, text=True)
    nodes, poller = [], None
    with Backend("postgres", run_dir, server) as backend:
        try:
            base = platform.stdout.readline().strip()
            if not base.startswith("http"):
                sys.exit(f"error: `{binary} mock-platform` printed {base!r}, not its URL "
                         "(build with --features testkit: cargo build --release --features testkit)")
            configs = {}
            for roles in roles_of_nodes:
                key = ",".join(roles)
                if key not in configs:
                    configs[key] = run_dir / f"config-{len(configs) + 1}.toml"
                    write_config(configs[key], base, blob_dir, roles)
            env = backend.env()

            def rg(data, config, *args, **kw):
                return subprocess.run([binary, "--data-dir", str(data), "--config", str(config), *args],
                                      env=env, **kw)

            first_config = configs[",".join(roles_of_nodes[0])]
            for path, title in ((bikes, "Bikes"), (bunny, "Big Buck Bunny")):
                rg(datas[0], first_config, "register", str(path), "--title", title,
                   check=True, stdout=subprocess.DEVNULL)

            poller = Poller(env["REELGUARD_DATABASE_URL"])
            poller.start()
            node_env = dict(env, REELGUARD_LOG="info", NO_COLOR="1", REELGUARD_HTTP_LISTEN="127.0.0.1:0")
            busy0, total0 = cpu_jiffies()
            started = time.time()
            for data, roles in zip(datas, roles_of_nodes):
                logf = open(data.parent / f"{data.name}.log", "w")
                proc = subprocess.Popen(
                    [binary, "--data-dir", str(data), "--config", str(configs[",".join(roles)]), "daemon"],
                    stdout=subprocess.DEVNULL, stderr=logf, env=node_env)
                nodes.append({"proc": proc, "log": Path(logf.name), "logf": logf, "roles": roles})
            log(f"  {len(nodes)} node(s) started; logs in {run_dir}/node*.log")
            done_at = None
            while time.time() - started < RUN_LIMIT_S:
                time.sleep(POLL_S)
                if poller.error:
                    sys.exit(f"error: {poller.error}")
                if poller.scan_done():
                    done_at = poller.polls[-1][0]
                    break
                gone = [n for n in nodes if n["proc"].poll() is not None]
                if gone:
                    sys.exit(f"error: node {gone[0]['log'].stem} exited with status "
                             f"{gone[0]['proc'].returncode} during the run; see {gone[0]['log']}")
            busy1, total1 = cpu_jiffies()
            if done_at is None:
                sys.exit(f"error: run {name}: the scan was not done within {RUN_LIMIT_S} s; "
                         f"see the node logs in {run_dir}")
            elapsed = done_at - started
            poller.stopping.set()
            poller.join()
            for node in nodes:
                node["proc"].send_signal(signal.SIGTERM)
            for node in nodes:
                _, status, usage = os.wait4(node["proc"].pid, 0)
                node["cpu_s"] = usage.ru_utime + usage.ru_stime
                node["peak_mib"] = usage.ru_maxrss / 1024
                node["exit"] = os.waitstatus_to_exitcode(status)
                node["logf"].close()

            scans = json.loads(rg(datas[0], first_config, "scans", "list", "--json", check=True,
                                  capture_output=True, text=True).stdout)["scans"]
            # A copy is found when its candidate is a match's or a further location of one
            # (copies aligned with a work the same way are one upload at several URLs).
            found = {url.rsplit("/", 1)[-1] for url, in psql(server, backend.database, MATCHED)}
            match_count, location_count = (int(x) for x in psql(server, backend.database, COUNTS)[0])
            captures = [(epoch(end) - epoch(start)) for start, end in psql(server, backend.database, CAPTURES)]
        finally:
            if poller is not None:
                poller.stopping.set()
                poller.join(timeout=10)
            for node in nodes:
                if node["proc"].poll() is None:
                    node["proc"].send_signal(signal.SIGTERM)
                    node["proc"].wait()
            platform.terminate()
            platform.wait()

    for node in nodes:
        text = re.sub(r"\x1b\[[0-9;]*m", "", node["log"].read_text())
        node["processed"] = text.count("candidate processed")
        # A finished capture without a TSA logs "capture of ... is not
        # timestamped" (the bench has no [timestamp] urls); a failed one "capture failed".
        node["captures"] = len(re.findall(r"capture of .* is not timestamped", text))
        node["capture_failures"] = text.count("capture failed")
        if node["exit"] != 0:
            log(f"warning ({name}): {node['log'].stem} exited with status {node['exit']}; see {node['log']}")
    status = scans[0]
    if len(scans) != 1:
        log(f"warning ({name}): {len(scans)} scans ran, expected one for the cluster")
    processed = sum(n["processed"] for n in nodes)
    if processed + len(status["errors"]) != status["candidates"]:
        log(f"warning ({name}): {processed} candidates processed and {len(status['errors'])} errors "
            f"for {status['candidates']} candidates")
    workers = WORKERS_PER_NODE * len(nodes)
    return {
        "name": name, "nodes": nodes, "workers": workers, "load": load, "elapsed": elapsed,
        "status": status, "scans": len(scans), "processed": processed,
        "cpu_s": sum(n["cpu_s"] for n in nodes),
        "machine_busy": (busy1 - busy0) / max(total1 - total0, 1),
        "true_pos": sum(1 for vid in truth if vid in found),
        "false_pos": sum(1 for vid in found if vid not in truth),
        "matches": match_count, "locations": location_count,
        "captures": len(captures), "capture_s": sum(captures),
        "queue": queue_measures(poller.polls, workers),
    }


def spread(values, digits=2):
    if not values:
        return "n/a"
    return (f"{statistics.median(values):.{digits}f} / {percentile(values, 0.95):.{digits}f} / "
            f"{max(values):.{digits}f} s")


def table(runs, truth):
    rate = lambda r: r["status"]["candidates"] / r["elapsed"] * 60
    per_cand = lambda r: r["cpu_s"] / max(r["status"]["candidates"], 1)
    per_node = lambda key, fmt="{}": lambda r: " / ".join(fmt.format(n[key]) for n in r["nodes"])

    def row(label, cell):
        return f"| {label} | " + " | ".join(cell(r) for r in runs) + " |"

    base = runs[0]
    rows = [
        "| measure | " + " | ".join(r["name"] for r in runs) + " |",
        "|---|" + "---|" * len(runs),
        row("nodes (roles)", lambda r: f"{len(r['nodes'])} ("
            + ("all roles" if all(n["roles"] == ALL_ROLES for n in r["nodes"])
               else f"capture on node 1 only") + ")"),
        row("workers in all (1 per node)", lambda r: str(r["workers"])),
        row("candidates", lambda r: f"{r['status']['candidates']} ({len(truth)} copies, "
            f"{r['status']['candidates'] - len(truth)} unrelated)"),
        row("wall time, first node start to scan done (captures included)", lambda r: f"{r['elapsed']:.1f} s"),
        row("throughput", lambda r: f"{rate(r):.1f} candidates/min"),
        row(f"throughput relative to {base['name']}", lambda r: f"{rate(r) / rate(base):.2f}x"),
        row("candidates processed per node (log)", per_node("processed")),
        row("captures finished per node (log)", per_node("captures")),
        row("matches (one per upload) + further locations of them",
            lambda r: f"{r['matches']} + {r['locations']}"),
        row("captures done (match and location captures tables), seconds in all",
            lambda r: f"{r['captures']}, {r['capture_s']:.0f} s"),
        row("CPU per node (user + sys, wait4, Chromium included)", per_node("cpu_s", "{:.0f} s")),
        row("CPU seconds per candidate (all nodes)", lambda r: f"{per_cand(r):.2f}"),
        row(f"nodes' CPU / (wall time x {os.cpu_count()} cores)", lambda r: f"{r['cpu_s'] / (r['elapsed'] * (os.cpu_count() or 1)):.0%}"),
        row("machine CPU busy during the run (all processes, /proc/stat)", lambda r: f"{r['machine_busy']:.0%}"),
        row("peak resident memory per node", per_node("peak_mib", "{:.0f} MiB")),
        row("queue wait, claim - run_after (median / p95 / max)", lambda r: spread(r["queue"]["waits"], 1)),
        row("claim latency once a worker is free: its next claim - its last finish (median / p95 / max)",
            lambda r: spread(r["queue"]["handoffs"], 3) + f" ({len(r['queue']['handoffs'])} hand-offs)"),
        row("idle workers: polls with a free worker while a candidate was queued and due",
            lambda r: f"{r['queue']['idle']} of {r['queue']['phase_polls']} "
                      f"({r['queue']['idle'] / max(r['queue']['phase_polls'], 1):.1%}), "
                      f"longest {r['queue']['longest_idle_polls'] * POLL_S:.1f} s"),
        row("copies found (matched, as a match or a location)", lambda r: f"{r['true_pos']} of {len(truth)}"),
        row("unrelated clips matched", lambda r: str(r["false_pos"])),
        row("scan errors", lambda r: str(len(r["status"]["errors"]))),
        row("scans fired for the cluster", lambda r: str(r["scans"])),
    ]
    text = "\n".join(rows) + "\n"

    # The paragraph under the table, from the numbers above.
    cores = os.cpu_count() or 1
    relative = ", ".join(f"{r['name']} {rate(r) / rate(base):.2f}x" for r in runs[1:])
    costs = [per_cand(r) for r in runs]
    low, high = min(costs), max(costs)

    def span(a, b, digits=0):
        a, b = f"{a:.{digits}f}", f"{b:.{digits}f}"
        return a if a == b else f"{a}-{b}"

    ceiling = span(cores * 60 / high, cores * 60 / low)
    best = max(runs, key=rate)
    shares = [r["cpu_s"] / (r["elapsed"] * cores) for r in runs]
    busy = [r["machine_busy"] for r in runs]
    text += "\n"
    if relative:
        text += f"Throughput relative to {base['name']}: {relative}. "
    text += (
        f"These runs share one {cores}-core machine, so more nodes are bounded by its {cores} cores. "
        f"The nodes spent {span(low, high, 2)} CPU seconds per candidate (all nodes, evidence captures "
        f"included; lowest to highest run): if the work is CPU-bound, {cores} cores fully used process "
        f"about {ceiling} candidates per minute, and the best run here reached {rate(best):.1f} "
        f"({best['name']}). One more machine with {cores} such cores running nodes on the same database "
        f"would add about {ceiling} candidates per minute ({span(60 / high, 60 / low)} per core), "
        "as long as the database and the platform keep up (their CPU is not in the nodes' CPU seconds). "
        f"During these runs the nodes had {span(min(shares) * 100, max(shares) * 100)}% of the machine's CPU "
        f"while it was {span(min(busy) * 100, max(busy) * 100)}% busy in all: the rest went to PostgreSQL, "
        "the mock platform, the poller and whatever else ran on the machine.\n")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--nodes", default="1,2,3",
                        help="comma-separated node counts; the largest is run again with capture on one node")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server (trust auth); each run creates and drops its own database")
    parser.add_argument("--write-results", action="store_true")
    opts = parser.parse_args()
    try:
        counts = [int(n) for n in opts.nodes.split(",") if n.strip()]
    except ValueError:
        counts = []
    if not counts or any(n < 1 for n in counts):
        sys.exit(f"error: --nodes {opts.nodes!r}: give node counts such as 1,2,3")
    binary = Path(opts.bin).resolve()
    if not os.access(binary, os.X_OK):
        sys.exit(f"error: {binary} is not an executable; build it with "
                 "`cargo build --release --features testkit` or pass --bin")
    binary = str(binary)
    check_postgres(opts.postgres)
    bikes, bunny = works_footage()
    # The scan benchmark's uploads (made once, reused); another count gets its own
    # (make_uploads keeps files that exist, and which ids are copies depends on the count).
    uploads = WORK / "scan" / "uploads" if opts.count == 200 else WORK / "cluster" / f"uploads-{opts.count}"
    log(f"making {opts.count} uploads in {uploads}")
    truth = make_uploads(uploads, opts.count, bikes, bunny)

    load = " ".join(open("/proc/loadavg").read().split()[:3])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip() or "none"
    if subprocess.run(["git", "status", "--porcelain", "--", ".", ":!bench"],
                      capture_output=True, text=True, cwd=ROOT).stdout.strip():
        commit += " (uncommitted changes outside bench/)"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(binary)))
    configs = [(f"{n} node{'s' if n > 1 else ''}", [ALL_ROLES] * n) for n in counts]
    if max(counts) > 1:
        n = max(counts)
        configs.append((f"{n} nodes, capture on 1", [ALL_ROLES] + [NO_CAPTURE] * (n - 1)))
    runs = []
    for name, roles in configs:
        log(f"run: {name}")
        runs.append(cluster_run(binary, opts.postgres, name, roles, uploads, truth, bikes, bunny))
        r = runs[-1]
        log(f"  scan done in {r['elapsed']:.1f} s, {r['processed']} candidates, {r['cpu_s']:.0f} CPU s")
    text = table(runs, truth)
    print(text)
    notes = (
        "Each node is a `reelguard daemon` process with its own data directory, the same\n"
        "PostgreSQL 15 database (fresh for each run, on 127.0.0.1) and the same blob directory,\n"
        f"`[daemon] workers = {WORKERS_PER_NODE}`, `retention = \"delete\"`, `lease_s = 30`; \"capture on 1\" gives\n"
        "only node 1 the capture role. The runs are one after the other on the same machine,\n"
        "same uploads (bench/scan.py's), same binary; the mock platform and PostgreSQL run on\n"
        "the same machine and their CPU is not in the nodes' CPU. Captures are counted per\n"
        "node from the log line a capture without a TSA writes when it is finished.\n"
        f"Queue measures come from reading the `jobs` table every {POLL_S} s with one psql\n"
        "session (its own CPU is on the machine too). A job's claim time is the `updated_at`\n"
        "its claim writes (exact to the millisecond), read while it is running (otherwise the\n"
        f"first poll that saw it claimed, within {POLL_S} s); queue wait is that minus its\n"
        "`run_after` (its insert time): all candidates are queued at once when the feed is\n"
        "listed, so it is the backlog, not the queue's overhead. Claim latency once a\n"
        "worker is free is, for each node (one worker each), its next claim minus the\n"
        "`updated_at` of its previous job's end, when the next job was already due then.\n"
        f"Idle workers counts, between the first candidate job and the last one finished, the\n"
        f"polls ({POLL_S} s apart) in which fewer jobs of any kind ran than there are workers\n"
        "while a candidate job was queued and due (a worker busy with a capture is not idle).\n\n")
    unseen = [f"{r['name']}: {r['queue']['unseen_running']}" for r in runs if r["queue"]["unseen_running"]]
    if unseen:
        notes += f"Candidate jobs never seen running (claimed and finished between two polls): {', '.join(unseen)}.\n\n"
    report = notes + text
    (WORK / "cluster.md").write_text(report)
    log(f"wrote {WORK / 'cluster.md'}")
    if opts.write_results:
        results_file = ROOT / "bench" / "results" / "cluster.md"
        results_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = "python3 bench/cluster.py --bin target/release/reelguard"
        if opts.count != 200:
            cmd += f" --count {opts.count}"
        if opts.nodes != "1,2,3":
            cmd += f" --nodes {opts.nodes}"
        header = (
            "# reelguard cluster benchmark\n\n"
            f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
            f"- Machine: {os.cpu_count()} cores; load average before: {load} "
            "(before each run: " + ", ".join(f"{r['name']} {r['load']}" for r in runs) + ")\n"
            f"- Commit at the start: {commit}\n"
            f"- Binary: {opts.bin} ({version}), built {built}\n"
            f"- Run: `{cmd} --write-results` (also a step of `make bench`)\n\n")
        results_file.write_text(header + report)
        log(f"wrote {results_file}")


if __name__ == "__main__":
    main()
