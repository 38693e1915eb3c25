# Two commands set everything up on a fresh machine: `make demo` and
# `make test`. Go tools come from the `tool` lines in go.mod.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin

.PHONY: all build test test-short lint bench demo real-servers clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bootstrap ./cmd/bootstrap
	$(GO) build -o $(BIN)/standin-agent ./internal/standin/agent

# The whole suite, race detector on. Tests that need a contained systemd
# manager or the real servers skip with the reason unless
# BOOTSTRAP_REQUIRE_SYSTEMD=1 / BOOTSTRAP_REQUIRE_REAL_SERVERS=1 (set by CI).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

test-short:
	$(GO) test -short -count=1 ./...

lint:
	$(GO) tool golangci-lint run ./...

# Writes docs/benchmarks.md.
bench: build
	$(GO) run ./internal/bench -out docs/benchmarks.md

# A whole first boot of each role against local stand-ins; the scratch
# roots stay under demo/ for inspection.
demo: build
	$(GO) run ./internal/demo -bin $(BIN) -dir demo

real-servers:
	./internal/realservers/build.sh

clean:
	rm -rf $(BIN) demo
