#!/usr/bin/env bash
# Engine benchmark: accuracy, open peers side by side, speed, index scale;
# then the scan benchmark (200 candidates through the daemon) and the cluster
# benchmark (the same candidates through 1, 2 and 3 daemon nodes on PostgreSQL).
# Usage (from anywhere): bash bench/run.sh
# Prints the tables and writes them to bench/results/engine.md,
# bench/results/scan.md and bench/results/cluster.md.
# Generated media and scratch data go to target/bench/ (git-ignored).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/target/bench"
OUT="$ROOT/bench/results/engine.md"
MEDIA="${BENCH_MEDIA_DIR:-$ROOT/../shared/media}"
BIN="$ROOT/target/release/reelguard"
VENV="$WORK/venv"
START=$(date +%s)
export PYTHONDONTWRITEBYTECODE=1  # keep bench/ free of __pycache__

die() { echo "bench: error: $*" >&2; exit 1; }
step() { echo; echo "== $* == (at $(( $(date +%s) - START )) s)"; }

[ -d "$MEDIA" ] || die "media directory $MEDIA not found: the bench needs the real clips in ../shared/media next to the repo (or set BENCH_MEDIA_DIR)"
export BENCH_MEDIA_DIR="$(cd "$MEDIA" && pwd)"
for tool in ffmpeg ffprobe python3 cargo; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
mkdir -p "$WORK" "$ROOT/bench/results"

# Held-out evaluation (bench/README.md, "Held-out evaluation"): reference pool, both
# disguise splits, the evaluator on each, and throughput on report-split files.
# HELDOUT_ONLY=1 runs only this part, with BIN (default target/release/reelguard, built
# unless HELDOUT_ONLY=1 and BIN is given).
heldout() {
  step "Held-out: reference pool (bench/references.py)"
  python3 bench/references.py
  for split in tune report; do
    step "Held-out: disguises, $split split (bench/disguise.py)"
    python3 bench/disguise.py --split "$split"
    step "Held-out: evaluation, $split split (bench/heldout.py)"
    python3 bench/heldout.py --bin "$BIN" --split "$split"
  done
  step "Held-out: throughput (bench/throughput.py)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  PSTATUS=""
  if ! "$VENV/bin/python" -c "import perception, pdqhash" 2>/dev/null; then
    "$VENV/bin/pip" install -q --disable-pip-version-check numpy pdqhash perception >"$WORK/pip-perception.log" 2>&1 \
      || PSTATUS="pip install perception failed: see target/bench/pip-perception.log"
  fi
  "$VENV/bin/python" bench/throughput.py --bin "$BIN" --perception-status "$PSTATUS"
}
if [ "${HELDOUT_ONLY:-0}" = 1 ]; then
  BIN="${BIN_OVERRIDE:-$BIN}"
  [ -x "$BIN" ] || { cargo build --release --features testkit; }
  heldout
  echo "bench: held-out done in $(( $(date +%s) - START )) s; results in bench/results/heldout-*.md and throughput.md"
  exit 0
fi

# The scan benchmark runs the mock platform, one of the stand-ins.
step "Build (cargo build --release --features testkit)"
cargo build --release --features testkit
[ -x "$BIN" ] || die "$BIN was not built"

step "Peer tools (venv at target/bench/venv)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
PEERS_OK=1
if ! "$VENV/bin/python" -c "import numpy, pdqhash" 2>/dev/null; then
  "${PIP[@]}" numpy pdqhash || { PEERS_OK=0; echo "peers: pip install numpy pdqhash failed; peer baselines skipped"; }
fi
# vpdq builds from source against ffmpeg's dev libraries; a failure is reported, not fatal.
# A failed build is remembered in the venv (delete the venv to retry).
VPDQ_STATUS=""
if [ "$PEERS_OK" = 1 ] && ! "$VENV/bin/python" -c "import vpdq" 2>/dev/null; then
  if [ -f "$VENV/vpdq-unavailable" ]; then
    VPDQ_STATUS="$(cat "$VENV/vpdq-unavailable")"
  elif ! "${PIP[@]}" vpdq >"$WORK/pip-vpdq.log" 2>&1; then
    reason="$(grep -m1 -oE "Package '[^']+'[^,]*, required by [^,]*, not found" "$WORK/pip-vpdq.log" || true)"
    [ -n "$reason" ] || reason="$(grep -m1 -E 'error|ERROR' "$WORK/pip-vpdq.log" | sed 's/^ *//' || true)"
    VPDQ_STATUS="pip install vpdq failed: ${reason:-see target/bench/pip-vpdq.log}; on Debian it needs libavdevice-dev and libavfilter-dev"
    echo "$VPDQ_STATUS" >"$VENV/vpdq-unavailable"
  fi
fi
[ -z "$VPDQ_STATUS" ] || echo "vpdq: not available ($VPDQ_STATUS)"

step "Media (queries cached in target/bench/queries)"
python3 bench/media.py

step "Accuracy"
python3 bench/accuracy.py --bin "$BIN"

step "Peers"
if [ "$PEERS_OK" = 1 ]; then
  "$VENV/bin/python" bench/peers.py --vpdq-status "$VPDQ_STATUS"
else
  echo "Peer baselines not available: numpy/pdqhash could not be installed." | tee "$WORK/peers.md"
fi

step "Speed"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load average: $LOAD"
python3 bench/speed.py --bin "$BIN"

step "Scale (cargo bench --bench index_scale)"
if cargo bench --bench index_scale >"$WORK/scale.md" 2>"$WORK/scale.log" && [ -s "$WORK/scale.md" ]; then
  cat "$WORK/scale.md"
else
  echo "_cargo bench --bench index_scale failed or printed nothing; see target/bench/scale.log._" | tee "$WORK/scale.md"
  tail -5 "$WORK/scale.log" || true
fi

# Assemble the report.
ELAPSED=$(( $(date +%s) - START ))
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo 'none (no commits yet)')"
[ -z "$(git status --porcelain 2>/dev/null | grep -vE '^.. bench/' || true)" ] || COMMIT="$COMMIT (uncommitted changes)"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' || echo unknown)"
{
  echo "# reelguard engine benchmark"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) cores, ${CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
  echo "- Load average before the speed step: $LOAD (other jobs on the machine skew the speed numbers)"
  echo "- Commit: $COMMIT"
  echo "- $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
  echo "- Bench wall time: $((ELAPSED / 60)) min $((ELAPSED % 60)) s (bash bench/run.sh)"
  echo
  echo "## Accuracy"
  echo
  cat "$WORK/accuracy.md"
  echo
  echo "## Peers"
  echo
  cat "$WORK/peers.md"
  echo
  echo "## Speed"
  echo
  cat "$WORK/speed.md"
  echo
  echo "## Scale"
  echo
  cat "$WORK/scale.md"
} >"$OUT"

step "Scan (bench/scan.py: 200 candidates on the mock platform through the daemon)"
python3 bench/scan.py --bin "$BIN" --write-results

step "Cluster (bench/cluster.py: the same candidates on 1, 2 and 3 daemon nodes sharing PostgreSQL)"
python3 bench/cluster.py --bin "$BIN" --write-results
heldout

ELAPSED=$(( $(date +%s) - START ))

echo
echo "bench: done in $((ELAPSED / 60)) min $((ELAPSED % 60)) s; results in bench/results/engine.md, scan.md and cluster.md"
