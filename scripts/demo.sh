#!/usr/bin/env bash
# End-to-end demo: registers the clips in fixtures/ as works (one with three
# creation stages, each RFC 3161-timestamped by a local TSA), writes its
# provenance certificate and package and verifies the package; then makes a
# re-upload the way infringers do (cropped, mirrored, a logo box, re-encoded,
# placed after other footage) and finds it, with the matched time ranges.
# Then the daemon's pipeline: a mock video platform on 127.0.0.1 serves
# uploads (copies and unrelated clips) through a YouTube-style API, a
# channel feed, Media RSS and a web page; `reelguard scan` finds the copies
# and emails an alert for each to a local SMTP sink, which the demo prints.
# Everything happens under target/demo/ (kept afterwards, started afresh by
# the next run); nothing leaves this machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEMO="$ROOT/target/demo"
DATA="$DEMO/data"
BIN="${REELGUARD_BIN:-$ROOT/target/release/reelguard}"

# REELGUARD_BIN runs the demo with an already built binary instead (built
# with `--features testkit`: the demo runs its local stand-ins). The release
# binary is built only when it is missing, older than a source, or without
# the stand-ins (as `make build` and `make package` leave it).
BUILD=(cargo build --release --features testkit)
if [ -z "${REELGUARD_BIN:-}" ]; then
    if [ ! -x "$BIN" ]; then
        echo "== building reelguard (release): the first build takes about 35 minutes on 2 cores =="
        "${BUILD[@]}"
    elif [ -n "$(find src migrations config Cargo.toml Cargo.lock -newer "$BIN" -print -quit)" ]; then
        echo "== rebuilding reelguard (release): sources changed since $BIN was built =="
        "${BUILD[@]}"
    elif ! "$BIN" local-tsa --help >/dev/null 2>&1; then
        echo "== rebuilding reelguard (release) with the demo's local stand-ins (--features testkit) =="
        "${BUILD[@]}"
    else
        echo "== using $BIN (up to date with the sources) =="
    fi
fi
rm -rf "$DEMO"
mkdir -p "$DATA"
echo "The demo keeps its data in $DEMO (the database and blobs in $DATA)."

echo
echo "== starting a local RFC 3161 time-stamping authority on 127.0.0.1 =="
"$BIN" local-tsa --dir "$DEMO/tsa" > "$DEMO/tsa.out" 2> "$DEMO/tsa.log" &
TSA_PID=$!
trap 'kill $TSA_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    grep -q '^ca: ' "$DEMO/tsa.out" 2>/dev/null && break
    sleep 0.1
done
TSA_URL=$(sed -n 's/^url: //p' "$DEMO/tsa.out")
[ -n "$TSA_URL" ] || { echo "the local TSA did not start:"; cat "$DEMO/tsa.log"; exit 1; }
echo "TSA at $TSA_URL"
cat > "$DEMO/reelguard.toml" <<CONFIG
[owner]
name = "Demo Creator"
email = "creator@example.com"
address = "No. 1 Example Road, Hangzhou"

[timestamp]
urls = ["$TSA_URL"]
trust_anchors = ["tsa/tsa-ca.pem"]
# The demo's TSA runs on this machine.
allow_loopback = true
CONFIG
rg() { "$BIN" --data-dir "$DATA" --config "$DEMO/reelguard.toml" "$@"; }

echo
echo "== creation stages of Bikes: a concept note, a script, a storyboard =="
mkdir -p "$DEMO/stages"
printf '# Bikes\nA quiet morning: bicycles leave the rack one by one.\n' > "$DEMO/stages/concept.md"
printf 'EXT. BIKE RACK - MORNING\nRiders arrive and unlock their bikes.\n' > "$DEMO/stages/script.txt"
ffmpeg -loglevel error -y -i fixtures/bikes.mp4 -vf "fps=1,scale=160:-2,tile=4x2" -frames:v 1 "$DEMO/stages/storyboard.png"
ls -l "$DEMO/stages"

echo
echo "== registering the works in fixtures/ =="
rg register fixtures/bigbuckbunny.mp4 --title "Big Buck Bunny (excerpt)" --owner "Blender Foundation"
rg register fixtures/bikes.mp4 --title "Bikes" --rights "All rights reserved by Demo Creator" \
    --artifact concept="$DEMO/stages/concept.md" \
    --artifact script="$DEMO/stages/script.txt" \
    --artifact storyboard="$DEMO/stages/storyboard.png"
rg works list
BIKES=$(rg works list | awk '/ Bikes$/ {print $1}')

echo
echo "== provenance of Bikes: certificate, package, offline verification =="
rg works certificate "$BIKES" -o "$DEMO/bikes-certificate.pdf"
rg works certificate "$BIKES" -o "$DEMO/bikes-certificate.html"
rg works export "$BIKES" -o "$DEMO/bikes-provenance.zip"
cp fixtures/bikes.mp4 "$DEMO/stages/"
"$BIN" verify "$DEMO/bikes-provenance.zip" --ca "$DEMO/tsa/tsa-ca.pem" --files "$DEMO/stages"
echo "certificate: $DEMO/bikes-certificate.pdf"

echo
echo "== making a re-upload: 3 s of other footage, then Bikes cropped 10%, mirrored, with a logo box =="
ffmpeg -loglevel error -y \
    -f lavfi -i "testsrc2=size=640x360:rate=25:duration=3" \
    -i fixtures/bikes.mp4 \
    -filter_complex "[1:v]crop=iw*0.8:ih*0.8,hflip,scale=640:360,drawbox=x=iw*0.7:y=ih*0.05:w=iw*0.25:h=ih*0.18:color=yellow@0.9:t=fill,setsar=1,fps=25[copy];[0:v]setsar=1[intro];[intro][copy]concat=n=2:v=1:a=0[out]" \
    -map "[out]" -c:v libx264 -preset veryfast -crf 30 -pix_fmt yuv420p "$DEMO/reupload.mp4"
echo "wrote $DEMO/reupload.mp4"

echo
echo "== matching the re-upload =="
rg match "$DEMO/reupload.mp4"
rg match --json "$DEMO/reupload.mp4"

echo
echo "== an unrelated video matches nothing =="
ffmpeg -loglevel error -y -f lavfi -i "mandelbrot=size=640x360:rate=25" -t 6 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$DEMO/unrelated.mp4"
rg match "$DEMO/unrelated.mp4"

echo
echo "== a mock video platform on 127.0.0.1 with four uploads =="
PLATFORM="$DEMO/platform"
mkdir -p "$PLATFORM"
cp "$DEMO/reupload.mp4" "$PLATFORM/v1.mp4"
cp "$DEMO/unrelated.mp4" "$PLATFORM/d1.mp4"
ffmpeg -loglevel error -y -i fixtures/bigbuckbunny.mp4 -vf "scale=640:360,pad=640:480:0:60" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -an "$PLATFORM/v2.mp4"
ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=25" -t 5 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$PLATFORM/d2.mp4"
cat >"$PLATFORM/catalog.json" <<'JSON'
[{"id": "v1", "file": "v1.mp4", "title": "Bikes street ride (reupload)", "uploader": "copycat", "channel": "UC-copycat"},
 {"id": "d1", "file": "d1.mp4", "title": "Fractal zoom", "uploader": "copycat", "channel": "UC-copycat"},
 {"id": "v2", "file": "v2.mp4", "title": "Big Buck Bunny excerpt HD", "uploader": "mirror-tv", "channel": "UC-mirror"},
 {"id": "d2", "file": "d2.mp4", "title": "Big Buck Bunny? test pattern", "uploader": "pattern", "channel": "UC-mirror"}]
JSON
"$BIN" mock-platform --media-dir "$PLATFORM" --listen 127.0.0.1:0 >"$DEMO/platform.url" &
MOCK_PID=$!
trap 'kill $TSA_PID $MOCK_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$DEMO/platform.url" ] && break; sleep 0.1; done
BASE="$(head -1 "$DEMO/platform.url")"
echo "mock platform at $BASE"

echo
echo "== sources: a channel feed, a YouTube API search, Media RSS and a web page =="
cat >>"$DEMO/reelguard.toml" <<TOML

[daemon]
workers = 2

[[sources]]
name = "copycat-channel"
kind = "youtube-channel"
url = "$BASE/feeds/videos.xml?channel_id=UC-copycat"
allow_loopback = true          # the mock platform is on 127.0.0.1

[[sources]]
name = "youtube-search"
kind = "youtube-search"
url = "$BASE/youtube/v3"
video_url_base = "$BASE/watch?v="
allow_loopback = true

[[sources]]
name = "mirror-rss"
kind = "feed"
url = "$BASE/feeds/rss.xml?channel=UC-mirror"
allow_loopback = true

[[sources]]
name = "a-page"
kind = "page"
url = "$BASE/pages/v2"
allow_loopback = true
TOML
rgc() { YOUTUBE_API_KEY=demo-key rg "$@"; }
rgc sources list

echo
echo "== a local SMTP sink on 127.0.0.1 receives the alerts (STARTTLS, its own test CA) =="
"$BIN" smtp-sink --dir "$DEMO/mail" --listen 127.0.0.1:0 --tls starttls >"$DEMO/smtp.addr" 2>"$DEMO/smtp.log" &
SINK_PID=$!
trap 'kill $TSA_PID $MOCK_PID $SINK_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$DEMO/smtp.addr" ] && break; sleep 0.1; done
SINK_PORT="$(head -1 "$DEMO/smtp.addr" | sed 's/.*://')"
[ -n "$SINK_PORT" ] || { echo "the SMTP sink did not start:"; cat "$DEMO/smtp.log"; exit 1; }
echo "SMTP sink at 127.0.0.1:$SINK_PORT (STARTTLS required), keeping messages in $DEMO/mail"
cat >>"$DEMO/reelguard.toml" <<TOML

[smtp]
host = "127.0.0.1"
port = $SINK_PORT
allow_loopback = true         # the demo's sink runs on this machine
security = "starttls"
ca_cert = "$DEMO/mail/tls/ca.pem"   # the sink's throwaway CA
from = "reelguard <alerts@example.com>"

[alerts]
to = ["creator@example.com"]
min_score = 0.3               # both demo copies score above this
TOML
rgc alerts test

echo
echo "== reelguard scan: list, download, fingerprint, match =="
rgc scan
echo "(mirror-rss lists pages/v2 again and the search finds v1 again: each upload is processed once)"
echo
rgc matches list

echo
echo "== a second scan finds nothing new =="
rgc scan --json

echo
echo "== alerts: one email per new match, delivered once =="
rg alerts list
FIRST_ALERT="$(ls "$DEMO"/mail/*.eml | sed -n 2p)"
echo
echo "-- $FIRST_ALERT (the first alert; the first file is the test message) --"
"$BIN" smtp-sink --show "$FIRST_ALERT"

echo
echo "== evidence: captured when the match was found; review, export, verify =="
# The re-upload of Bikes (cropped, mirrored, a logo box), which the note describes.
MATCH=$(rgc matches list --work Bikes --json | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
[ -n "$MATCH" ] || { echo "no match of Bikes to export"; exit 1; }
rgc matches show "$MATCH"
rgc matches confirm "$MATCH" --note "Bikes after 3 s of other footage: cropped, mirrored, a logo box over it"
rgc evidence export "$MATCH" -o "$DEMO/claim.zip"
echo
"$BIN" verify "$DEMO/claim.zip" --ca "$DEMO/tsa/tsa-ca.pem"

rm -rf "$DEMO/claim"
mkdir -p "$DEMO/claim"
unzip -q "$DEMO/claim.zip" -d "$DEMO/claim"
(cd "$DEMO/claim" && sha256sum -c --quiet SHA256SUMS && echo "sha256sum -c SHA256SUMS: OK")
(cd "$DEMO/claim" && openssl ts -verify -in timestamp/manifest.tsr -token_in -data manifest.json \
    -CAfile timestamp/tsa-ca.pem -untrusted timestamp/tsa-certs.pem)
REPORT_PAGE=""
if [ -f "$DEMO/claim/report.pdf" ] && command -v pdftoppm >/dev/null; then
    pdftoppm -png -r 60 -f 1 -l 1 "$DEMO/claim/report.pdf" "$DEMO/report-page"
    REPORT_PAGE=$(ls "$DEMO"/report-page*.png 2>/dev/null | head -1)
fi

echo
echo "== done =="
echo "The evidence bundle $DEMO/claim.zip holds:"
unzip -Z1 "$DEMO/claim.zip" | sed 's/^/  /'
if [ -n "$REPORT_PAGE" ]; then
    echo "Page 1 of its report.pdf, rendered: $REPORT_PAGE"
else
    echo "No report.pdf page rendered (chromium or pdftoppm missing: run scripts/setup.sh)."
fi
echo "The report as HTML: $DEMO/claim/report.html; the takedown notices: $DEMO/claim/takedown/"

echo
echo "== try next (the demo's data stays in $DATA) =="
DEMO_RG="$BIN --data-dir $DATA --config $DEMO/reelguard.toml"
echo "  $DEMO_RG matches list --since 1d --json"
echo "  $DEMO_RG works list"
echo "  $DEMO_RG matches list --status pending"
echo "  $DEMO_RG matches show $(printf %s "$MATCH" | tail -c 8)"
echo "  $DEMO_RG works certificate Bikes -o bikes.pdf"
echo "  $DEMO_RG --help"

echo
echo "== the dashboard: the inbox of matches, each match beside its work =="
REVIEWER_TOKEN=$(rgc tokens create "demo reviewer" --role reviewer 2>/dev/null)
DASHBOARD="127.0.0.1:${DEMO_PORT:-8080}"
if [ "${DEMO_SERVE:-1}" = "0" ]; then
    echo "DEMO_SERVE=0: not serving. Serve the dashboard with:"
    echo "  $BIN --data-dir $DATA --config $DEMO/reelguard.toml serve --listen $DASHBOARD"
    echo "and sign in with the reviewer token $REVIEWER_TOKEN"
else
    echo "Dashboard: http://$DASHBOARD/"
    echo "Sign in with the reviewer token: $REVIEWER_TOKEN"
    echo "Serving until Ctrl-C (DEMO_SERVE=0 skips this step)."
    rgc serve --listen "$DASHBOARD"
fi
