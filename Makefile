# Tocsin: `make demo` runs the main job, `make test` the whole test suite. Both install what they need.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libzmq3-dev libxml2-utils

.PHONY: all deps build release test demo bench clean

all: build

# System libraries: libzmq (the ZeroMQ C library) and xmllint (CAP schema checks in tests).
deps:
	@if ! dpkg -s libzmq3-dev >/dev/null 2>&1 || ! command -v xmllint >/dev/null 2>&1; then \
		echo "installing $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product tocsin

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The main job: the whole pipeline in one process on the embedded default, replaying the default drill (a
# five-hour typhoon) at 300x real time: warnings and tasks live, then the after-action report.
DEMO_SPEED ?= 300
demo: release
	@mkdir -p out
	.build/release/tocsin config check --config Config/tocsin.yaml | head -8
	.build/release/tocsin drill Scenarios/typhoon.yaml --speed $(DEMO_SPEED) --report out/typhoon-report.md

# The ingest benchmark (release) with the raw libzmq and SQLite limits of the same run: docs/performance.md.
# BENCH_SUITES picks the suites, one after the other, each writing out/bench-<suite>.json:
# make bench BENCH_SUITES="classify e2e drill" (about 2 min; BENCH_ARGS=--quick about 35 s).
BENCH_SCRATCH ?= .build
BENCH_SUITES ?= ingest
bench: deps
	$(SWIFT) build -c release --product tocsin-bench --scratch-path $(BENCH_SCRATCH)
	@set -e; for suite in $(BENCH_SUITES); do \
		echo "$(BENCH_SCRATCH)/release/tocsin-bench $$suite --json out/bench-$$suite.json $(BENCH_ARGS)"; \
		$(BENCH_SCRATCH)/release/tocsin-bench $$suite --json out/bench-$$suite.json $(BENCH_ARGS); \
	done

clean:
	rm -rf .build
