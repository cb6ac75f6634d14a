# reelguard — common tasks. Each target first installs missing system
# packages (scripts/setup.sh is a no-op when everything is present).

.PHONY: setup build test demo bench lint package fuzz

setup:
	@bash scripts/setup.sh

build: setup
	cargo build --release

# The Debian package, in target/debian/: the release binary, man page,
# completions, /etc/reelguard/config.toml and the systemd unit
# (scripts/package-deb.sh; install it with `sudo apt install ./target/debian/reelguard_*.deb`).
package: build
	bash scripts/package-deb.sh target/release/reelguard target/debian

# Unit, property and integration tests (one debug build shared by all).
test: setup
	cargo test

# End-to-end demo on the embedded defaults, using the clips in fixtures/.
demo: setup
	bash scripts/demo.sh

# Benchmarks: prints tables and writes bench/results/engine.md, scan.md and http.md.
bench:
	@bash scripts/setup.sh --bench
	bash bench/run.sh
	python3 bench/dashboard_load.py --bin target/release/reelguard

# Tests build with the testkit feature (the stand-ins); the release build
# without it is linted too.
lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy -- -D warnings

# Fuzzing: each target of fuzz/ (cargo-fuzz, libFuzzer, nightly toolchain)
# for FUZZ_SECONDS, two at a time; new inputs land in fuzz/corpus/, crashes
# in fuzz/artifacts/ (both replayed by `make test`). The repository keeps the
# hand-made seeds and the 256 smallest inputs of each minimized corpus
# (`cargo +nightly fuzz cmin TARGET`), and every crash once fixed.
FUZZ_SECONDS ?= 600
fuzz:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cargo +nightly fuzz build
	cargo +nightly fuzz list | xargs -P 2 -I{} cargo +nightly fuzz run {} -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024
