#!/usr/bin/env bash
# End-to-end demo: registers the clips in fixtures/ as works, makes a
# re-upload the way infringers do (cropped, mirrored, a logo box, re-encoded,
# placed after other footage) and finds it, with the matched time ranges.
# Everything happens under target/demo/; nothing leaves this machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEMO="$ROOT/target/demo"
DATA="$DEMO/data"
BIN="$ROOT/target/release/reelguard"

echo "== building reelguard (release) =="
cargo build --release --quiet
rm -rf "$DEMO"
mkdir -p "$DATA"
rg() { "$BIN" --data-dir "$DATA" "$@"; }

echo
echo "== registering the works in fixtures/ =="
rg register fixtures/bigbuckbunny.mp4 --title "Big Buck Bunny (excerpt)" --owner "Blender Foundation"
rg register fixtures/bikes.mp4 --title "Bikes" --owner "Demo Creator"
rg works list

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
