# Tocsin: `make demo` runs the main job, `make test` the whole test suite. Both install what they need.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libzmq3-dev libxml2-utils tmux chromium chromium-driver python3-selenium python3-zmq

.PHONY: all deps build release test test-browser soak demo bench clean fuzz fuzz-ci

all: build

# System libraries: libzmq (the ZeroMQ C library), xmllint (CAP schema checks in tests), tmux (the
# `tocsin watch` console test), and headless Chromium with chromedriver, selenium and pyzmq (the dashboard's
# browser test, run by Debian's /usr/bin/python3).
deps:
	@if ! dpkg -s libzmq3-dev >/dev/null 2>&1 || ! command -v xmllint >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1 \
		|| ! command -v chromedriver >/dev/null 2>&1 || ! /usr/bin/python3 -c "import selenium, zmq" >/dev/null 2>&1; then \
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
	$(MAKE) test-browser
	$(MAKE) fuzz-ci

# The fault suite at full size (docs/reliability.md): SIGKILL, SIGSTOP and SIGTERM of Tocsin's processes under
# load from platform processes, 12 feed subscribers through a 100,000-message burst; attacks with CURVE on
# (10,000 attempts of each kind, 1,000 junk connections, a 50x flood) and power loss (AttackTests,
# PowerLossTests). Long (about 25 min on two cores); `make test` runs the same suites in short form.
# Figures in out/soak-*.json and the test output.
soak: deps
	$(SWIFT) build --build-tests
	TOCSIN_SOAK=full $(SWIFT) test --skip-build --filter "FaultSoakTests|AttackTests|PowerLossTests"

# The dashboard in headless Chromium while a drill runs (screenshots in out/test-browser/).
test-browser:
	/usr/bin/python3 Tests/Browser/dashboard_test.py --tocsin .build/debug/tocsin --out out/test-browser

# The main job: the whole pipeline in one process on the embedded default, replaying the default drill (a
# five-hour typhoon) at 300x real time: warnings and tasks live, then the after-action report.
DEMO_SPEED ?= 300
demo: release
	@mkdir -p out
	.build/release/tocsin config check --config Config/tocsin.yaml | head -8
	.build/release/tocsin drill Scenarios/typhoon.yaml --speed $(DEMO_SPEED) --report out/typhoon-report.md

# The benchmark (release build, its own scratch folder): the raw libzmq and SQLite limits and every Tocsin figure,
# measured one after the other in one run; prints one table and writes out/bench.json (docs/performance.md).
# About 4-5 min on a quiet machine; BENCH_ARGS=--quick about 2 min. Pick suites with BENCH_SUITES="raw e2e latency journal incidents drill".
BENCH_SCRATCH ?= .build-bench
BENCH_SUITES ?= raw e2e latency journal incidents drill
BENCH_JSON ?= out/bench.json
bench: deps
	$(SWIFT) build -c release --product tocsin-bench --scratch-path $(BENCH_SCRATCH)
	@mkdir -p $(dir $(BENCH_JSON))
	$(BENCH_SCRATCH)/release/tocsin-bench all --suites "$(BENCH_SUITES)" --json $(BENCH_JSON) $(BENCH_ARGS)

# libFuzzer harnesses (Fuzz/: its own package, built with -sanitize=fuzzer,address into Fuzz/.build, never .build)
# for the event decoder, the command request decoder, the config loaders and the scenario loader. `make fuzz` is the
# long run (FUZZ_SECONDS per harness); `make test` runs `fuzz-ci`, about 2.5 min with the build on a fresh clone.
# A crash, a hang over 2 s, a leak or more than 2 GiB fails the target; the input is kept in Fuzz/.build/artifacts/.
FUZZ_SECONDS ?= 600
FUZZ_CI_SECONDS ?= 20
fuzz: deps
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_SECONDS) Fuzz/run.sh
fuzz-ci: deps
	SWIFT=$(SWIFT) FUZZ_SECONDS=$(FUZZ_CI_SECONDS) Fuzz/run.sh

clean:
	rm -rf .build
