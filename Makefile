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

demo: release
	.build/release/tocsin config check --config Config/tocsin.yaml

clean:
	rm -rf .build
