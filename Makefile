# reelguard — common tasks. Each target first installs missing system
# packages (scripts/setup.sh is a no-op when everything is present).

.PHONY: setup build test demo bench lint

setup:
	@bash scripts/setup.sh

build: setup
	cargo build --release

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
	python3 bench/http.py --bin target/release/reelguard

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
