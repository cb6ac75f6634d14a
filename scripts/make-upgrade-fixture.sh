#!/usr/bin/env bash
# Makes the upgrade test's fixtures (tests/fixtures/upgrade/): the database a
# reelguard of an earlier schema leaves after a day's use, as SQL dumps of
# SQLite and of PostgreSQL. Run it with that release's binary:
#
#   scripts/make-upgrade-fixture.sh OLD_BINARY SCHEMA_VERSION
#
# It registers the two clips of fixtures/ (no TSA: stamps pending), watches a
# folder holding a mirrored copy of one, scans it (a match, its capture), adds
# a review and an alert the unreachable SMTP server refused, then dumps each
# database. Needs ffmpeg, sqlite3, pg_dump and the PostgreSQL server at
# 127.0.0.1:5432 (trust auth, user postgres).
set -euo pipefail
OLD="$(realpath "$1")"
VERSION="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/tests/fixtures/upgrade"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$WORK/folder"
ffmpeg -v error -y -i "$ROOT/fixtures/bikes.mp4" -vf hflip -c:v libx264 -crf 30 "$WORK/folder/bikes-mirrored.mp4"
# A folder source lists only files that have settled (not still being written).
touch -d "2026-11-20 08:00:00" "$WORK/folder/bikes-mirrored.mp4"

scenario() {
    local data="$1" database_line="$2"
    mkdir -p "$data"
    cat > "$WORK/config.toml" <<TOML
$database_line
[owner]
name = "Li Hua"
email = "lihua@example.com"

[smtp]
host = "127.0.0.1"
port = 9
security = "none"
from = "reelguard <alerts@example.com>"
timeout_s = 2.0

[alerts]
to = ["creator@example.com"]
max_attempts = 1
evidence_wait_s = 1.0

[[sources]]
name = "downloads"
kind = "folder"
url = "$WORK/folder"
schedule = "0 0 3 * * *"
TOML
    local rg=("$OLD" --config "$WORK/config.toml" --data-dir "$data")
    "${rg[@]}" register "$ROOT/fixtures/bikes.mp4" --title "Bikes 单车" --owner "Li Hua"
    "${rg[@]}" register "$ROOT/fixtures/bigbuckbunny.mp4" --title "Big Buck Bunny"
    "${rg[@]}" scan
    local match
    match=$("${rg[@]}" matches list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["matches"][0]["id"])')
    "${rg[@]}" evidence capture "$match" || true
    "${rg[@]}" matches confirm "$match" --note "mirrored copy"
    "${rg[@]}" alerts send || true
    "${rg[@]}" matches list
    "${rg[@]}" alerts list
}

scenario "$WORK/sqlite" ""
sqlite3 "$WORK/sqlite/reelguard.db" .dump > "$OUT/schema-$VERSION-sqlite.sql"

db="reelguard_upgrade_fixture"
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
scenario "$WORK/postgres" "database_url = \"postgres://postgres@127.0.0.1:5432/$db\""
# Plain SQL any client can run: no psql meta-commands (\restrict), no
# settings older servers lack.
pg_dump -h 127.0.0.1 -U postgres --inserts --no-owner --no-privileges "$db" \
    | grep -v -e '^\\restrict ' -e '^\\unrestrict ' -e '^SET transaction_timeout' \
    > "$OUT/schema-$VERSION-postgres.sql"
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE $db"
ls -l "$OUT"
