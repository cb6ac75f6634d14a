#!/usr/bin/env bash
# Builds the Debian package of a reelguard binary with Debian's own tools:
# stages the installed tree (binary, man page, completions, the system
# config from the example, the systemd unit, maintainer scripts), computes
# the shared-library dependencies with dpkg-shlibdeps, and packs it with
# dpkg-deb. See ARCHITECTURE.md ("Packaging") for why not cargo-deb.
#
#   scripts/package-deb.sh BINARY OUT_DIR     e.g. target/release/reelguard target/debian
#
# Prints the path of the .deb. DEB_COMPRESSION (xz by default; none or gzip)
# is dpkg-deb's -Z, for tests that pack a large debug binary. A binary built
# with the test stand-ins (`--features testkit`) is refused unless
# ALLOW_TESTKIT=1 (the package test, which has only the test build).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BINARY OUT_DIR" >&2
    exit 2
fi
binary=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$binary" ] || { echo "error: $binary is not an executable (build it first: cargo build --release)" >&2; exit 2; }
for tool in dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install dpkg-dev)" >&2; exit 1; }
done

if [ "${ALLOW_TESTKIT:-0}" != 1 ] && "$binary" mock-platform --help >/dev/null 2>&1; then
    echo "error: $binary was built with the test stand-ins (--features testkit); package a release build: cargo build --release" >&2
    exit 2
fi

version=$("$binary" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/reelguard_${version}_${arch}

# The installed tree.
install -D -m 0755 "$binary" "$stage/usr/bin/reelguard"
strip --strip-debug "$stage/usr/bin/reelguard" 2>/dev/null || true
install -d "$stage/usr/share/man/man1"
"$binary" man | gzip -9n >"$stage/usr/share/man/man1/reelguard.1.gz"
install -d "$stage/usr/share/bash-completion/completions" \
    "$stage/usr/share/zsh/vendor-completions" "$stage/usr/share/fish/vendor_completions.d"
"$binary" completions bash >"$stage/usr/share/bash-completion/completions/reelguard"
"$binary" completions zsh >"$stage/usr/share/zsh/vendor-completions/_reelguard"
"$binary" completions fish >"$stage/usr/share/fish/vendor_completions.d/reelguard.fish"
install -D -m 0644 "$root/packaging/reelguard.service" "$stage/lib/systemd/system/reelguard.service"
install -d "$stage/usr/share/doc/reelguard"
install -m 0644 "$root/README.md" "$stage/usr/share/doc/reelguard/README.md"
install -m 0644 "$root/config/reelguard.example.toml" "$stage/usr/share/doc/reelguard/reelguard.example.toml"
printf 'reelguard\nLicense: Apache-2.0\nSource: https://github.com/reelguard/reelguard\n' \
    >"$stage/usr/share/doc/reelguard/copyright"

# The machine's config: the annotated example, with the data in the
# service's state directory, so every user of the machine and the service
# share one database.
install -d "$stage/etc/reelguard"
sed 's|^# data_dir = "~/.local/share/reelguard"$|data_dir = "/var/lib/reelguard"|' \
    "$root/config/reelguard.example.toml" >"$stage/etc/reelguard/config.toml"
grep -q '^data_dir = "/var/lib/reelguard"$' "$stage/etc/reelguard/config.toml" \
    || { echo "error: the example's data_dir line changed; update $0" >&2; exit 1; }
chmod 0644 "$stage/etc/reelguard/config.toml"

# Control files.
install -d "$stage/DEBIAN"
install -m 0755 "$root/packaging/debian/postinst" "$root/packaging/debian/prerm" \
    "$root/packaging/debian/postrm" "$stage/DEBIAN/"
echo /etc/reelguard/config.toml >"$stage/DEBIAN/conffiles"
# dpkg-shlibdeps reads the libraries the binary links (FFmpeg's among them)
# and names the packages that ship them, with their minimum versions.
mkdir -p "$work/shlibs/debian"
printf 'Source: reelguard\n\nPackage: reelguard\nArchitecture: any\n' >"$work/shlibs/debian/control"
libs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "$stage/usr/bin/reelguard" 2>/dev/null \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$libs" ] || { echo "error: dpkg-shlibdeps found no library dependencies" >&2; exit 1; }
installed_kib=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: reelguard
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-reelguard maintainers <reelguard@users.noreply.github.com>}
Installed-Size: $installed_kib
Depends: $libs, adduser, fonts-dejavu-core, fonts-wqy-microhei
Recommends: chromium, openssl, ca-certificates
Suggests: yt-dlp, postgresql
Section: video
Priority: optional
Homepage: https://github.com/reelguard/reelguard
Description: find re-uploads of your videos and prove they are yours
 reelguard registers a creator's finished videos as works, fingerprints
 them frame by frame and finds copies on video platforms even when they
 were re-encoded, cropped, mirrored, sped up or overlaid. Each match is
 captured as evidence (page, screenshot, media hash, frame pairs) with
 RFC 3161 trusted timestamps, and exported as a bundle with bilingual
 (English and Chinese) reports and takedown notices.
EOF

mkdir -p "$out"
deb=$out/reelguard_${version}_${arch}.deb
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
echo "$deb"
