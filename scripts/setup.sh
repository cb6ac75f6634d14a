#!/usr/bin/env bash
# Installs the system packages reelguard needs to build and test (with --bench:
# and to benchmark), and only those that are missing. Safe to run again: when
# everything is present it changes nothing.
set -euo pipefail

# Debian packages the build and the tests need. Add new ones here.
PACKAGES="libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev clang libclang-dev pkg-config ffmpeg fonts-wqy-microhei fonts-dejavu-core poppler-utils openssl chromium chromium-driver"
# With --bench, also what the benchmark's peers build against (vpdq needs
# FFmpeg's device and filter libraries).
if [ "${1:-}" = "--bench" ]; then
    PACKAGES="$PACKAGES libavdevice-dev libavfilter-dev"
fi

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $pkg"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "setup: missing packages:$missing, and not root without sudo; install them as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
    echo "setup: installed$missing"
else
    echo "setup: all system packages present, nothing to do"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install Rust (1.94 or newer) with rustup (https://rustup.rs) or your distribution's rustc/cargo packages" >&2
    exit 1
fi

# yt-dlp (optional): lets `ytdlp` sources reach platforms without an API, and
# the tests use it when present. Installed from PyPI into target/tools/venv;
# a failure only disables those.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
YTDLP_VENV="$ROOT/target/tools/venv"
if [ ! -x "$YTDLP_VENV/bin/yt-dlp" ] && command -v python3 >/dev/null 2>&1; then
    if python3 -m venv "$YTDLP_VENV" >/dev/null 2>&1 \
        && "$YTDLP_VENV/bin/pip" install -q --disable-pip-version-check yt-dlp >/dev/null 2>&1; then
        echo "setup: installed yt-dlp in target/tools/venv"
    else
        echo "setup: could not install yt-dlp (optional: ytdlp sources and their test need it)"
    fi
fi
