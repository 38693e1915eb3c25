# Two commands set everything up on a fresh machine: `make demo` and
# `make test`. Go tools come from the `tool` lines in go.mod.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin

.PHONY: all build test test-short test-real lint bench demo real-servers clean deb deb-check packer-check iam-check

# The Debian package's version: the latest v* tag without the v, or
# 0.0.0+git<commit> without one. Dashes become + because a Debian upstream
# version may not contain one.
DEB_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo "$${v\#v}" | tr - + || echo "0.0.0+git$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
DEB_ARCH    ?= $(shell $(GO) env GOARCH)
DEB         := $(BIN)/bootstrap_$(DEB_VERSION)_$(DEB_ARCH).deb
# Packer never phones home: no update check, and no network at all.
PACKER      := CHECKPOINT_DISABLE=1 unshare -rn packer
# The AWS actions the stand-ins served during make test, for iam-check.
ACTIONS_LOG := $(CURDIR)/$(BIN)/aws-actions.log

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bootstrap ./cmd/bootstrap
	$(GO) build -o $(BIN)/standin-agent ./internal/standin/agent

# The whole suite, race detector on. Tests that need a contained systemd
# manager or the real servers skip with the reason unless
# BOOTSTRAP_REQUIRE_SYSTEMD=1 / BOOTSTRAP_REQUIRE_REAL_SERVERS=1 (set by CI).
test:
	$(GO) vet ./...
	mkdir -p $(BIN) && rm -f $(ACTIONS_LOG)
	BOOTSTRAP_AWS_ACTIONS_LOG=$(ACTIONS_LOG) $(GO) test -race -count=1 ./...
	$(MAKE) iam-check

# The IAM policy against the agent's source, and, after make test, against
# every action the stand-ins served across the whole suite. go test runs
# packages in parallel, so the log is complete only once it has returned.
iam-check:
	if [ -f $(ACTIONS_LOG) ]; then \
		$(GO) test -count=1 -run 'TestPolicy|TestRecordedActions' ./internal/iampolicy -args -actions-log=$(ACTIONS_LOG); \
	else \
		$(GO) test -count=1 -run 'TestPolicy' ./internal/iampolicy; \
	fi

# The Debian package (nfpm, pinned as a Go tool), and its install, upgrade,
# removal and purge in a scratch root.
deb: build
	DEB_VERSION=$(DEB_VERSION) DEB_ARCH=$(DEB_ARCH) $(GO) tool nfpm package -f packer/nfpm.yaml -p deb -t $(DEB)

deb-check: deb
	packer/deb/install-test.sh $(DEB)

# packer fmt and validate, offline; validate needs the uploaded files to
# exist, so it gets empty stand-ins for the package and the keyring.
packer-check:
	$(PACKER) fmt -check -diff packer/
	tmp=$$(mktemp -d) && touch $$tmp/bootstrap.deb $$tmp/keyring.gpg && \
	cd packer && $(PACKER) validate \
		-var environment=example -var consul_version=1.14.11 -var nomad_version=1.6.2 \
		-var vault_version=1.13.2 -var release_keyring=$$tmp/keyring.gpg \
		-var bootstrap_deb=$$tmp/bootstrap.deb . ; \
	status=$$?; rm -rf $$tmp; exit $$status

test-short:
	$(GO) test -short -count=1 ./...

lint:
	$(GO) tool golangci-lint run ./...

# Writes docs/benchmarks.md.
bench: build
	$(GO) run ./internal/bench/mkdoc -out docs/benchmarks.md

# A whole first boot of each role against local stand-ins; the scratch
# roots stay under demo/ for inspection.
demo: build
	$(GO) run ./internal/demo -bin $(BIN) -dir demo

# Builds Consul, Vault and Nomad into the cache directory (see
# internal/realservers); a no-op check when they are current.
real-servers:
	./internal/realservers/build.sh

# Only the tests that run the real servers, failing if they are missing.
test-real: real-servers
	BOOTSTRAP_REQUIRE_REAL_SERVERS=1 BOOTSTRAP_REQUIRE_SYSTEMD=1 \
		$(GO) test -race -count=1 -run 'TestReal|TestNomadVaultBlockKeys' ./internal/e2e/

clean:
	rm -rf $(BIN) demo
