#!/usr/bin/env bash
# Builds the real Consul, Vault and Nomad binaries that the integration tests
# run, each unmodified from the Go module proxy through the wrapper module in
# the directory of the same name beside this script.
#
# Binaries go to $BOOTSTRAP_REAL_SERVERS_DIR/<name>-<version>/<name>, by default
# under ${XDG_CACHE_HOME:-$HOME/.cache}/bootstrap/real-servers. A binary whose
# recorded SHA-256 still matches is not rebuilt. Every binary, new or cached, is
# then smoke-checked offline: its version output, and for Consul `consul
# validate` on a valid and an invalid config. No server is started.
#
# Builds run one after another because each one peaks at 2 to 2.7 GB of memory.
# Run it under `nice -n 10` on a shared machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Name, module version, CGO_ENABLED, and the first line that `NAME version`
# prints.
# Keep these in sync with realservers.go and the wrapper go.mod files: the Go
# test TestVersionsMatchWrappers compares them.
servers=(
	"consul v1.14.11 0 Consul v1.14.11"
	"vault v1.13.2 0 Vault v1.13.2"
	"nomad v1.6.2 1 Nomad v1.6.2"
)

# The wrappers are modules of their own, so no go.work may pull them together.
# CHECKPOINT_DISABLE turns off the servers' update checks, which would contact
# HashiCorp from the smoke checks.
export GOWORK=off CHECKPOINT_DISABLE=1

fail() {
	printf 'build.sh: %s\n' "$*" >&2
	exit 1
}

# The Go tests look the binaries up from another working directory, so a
# relative directory would point them elsewhere.
dir=${BOOTSTRAP_REAL_SERVERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bootstrap/real-servers}
[[ $dir == /* ]] || fail "invalid real servers directory '$dir': not an absolute path (set BOOTSTRAP_REAL_SERVERS_DIR)"

binary_path() { # name version
	printf '%s/%s-%s/%s' "$dir" "$1" "$2" "$1"
}

# is_current reports whether the binary exists and matches its recorded sum.
is_current() { # name version
	local bin
	bin=$(binary_path "$1" "$2")
	[[ -x $bin && -f $bin.sha256 ]] || return 1
	(cd "$(dirname "$bin")" && sha256sum --check --status "$1.sha256")
}

# check_license rejects a module whose LICENSE is not MPL-2.0, because some
# later releases of these lines moved to the Business Source License.
check_license() { # name version
	local module_dir
	module_dir=$(cd "$here/$1" && go list -m -f '{{.Dir}}' "github.com/hashicorp/$1") ||
		fail "locating the $1 $2 module failed"
	grep -q 'Mozilla Public License, version 2.0' "$module_dir/LICENSE" ||
		fail "$1 $2: $module_dir/LICENSE is not MPL-2.0; use an MPL-2.0 release"
	if grep -q -i 'Business Source License' "$module_dir/LICENSE"; then
		fail "$1 $2: $module_dir/LICENSE mentions the Business Source License"
	fi
}

download() { # name version
	(cd "$here/$1" && go mod download) ||
		fail "downloading the modules of $1 $2 failed (is the Go module proxy reachable?)"
	check_license "$1" "$2"
}

# build compiles into a temporary directory beside the binary, smoke-checks the
# result, and only then moves it into place and records its checksum, so a
# failed build leaves no binary behind.
build() { # name version cgo expected-first-line
	local bin tmp
	bin=$(binary_path "$1" "$2")
	mkdir -p "$(dirname "$bin")"
	tmp=$(mktemp -d "$bin.XXXXXX")
	trap "rm -rf $(printf %q "$tmp")" EXIT
	(cd "$here/$1" && CGO_ENABLED=$3 go build -trimpath -buildvcs=false \
		-o "$tmp/$1" "github.com/hashicorp/$1") ||
		fail "building $1 $2 failed (compiler output above)"
	smoke "$1" "$tmp/$1" "$4"
	mv "$tmp/$1" "$bin"
	rm -rf "$tmp"
	trap - EXIT
	(cd "$(dirname "$bin")" && sha256sum "$1" >"$1.sha256")
}

smoke_version() { # binary expected-first-line
	local bin=$1 out
	out=$("$bin" version 2>&1) || fail "$bin version failed: $out"
	[[ ${out%%$'\n'*} == "$2" ]] ||
		fail "$bin version printed '${out%%$'\n'*}', expected '$2'"
}

# smoke_consul_validate checks that `consul validate` accepts a minimal
# loopback server config and rejects one with an unknown key.
smoke_consul_validate() { # consul-binary
	local tmp
	tmp=$(mktemp -d)
	mkdir "$tmp/good" "$tmp/bad" "$tmp/data"
	cat >"$tmp/good/consul.hcl" <<-EOF
		datacenter           = "dc1"
		data_dir             = "$tmp/data"
		server               = true
		bootstrap_expect     = 1
		bind_addr            = "127.0.0.1"
		client_addr          = "127.0.0.1"
		disable_update_check = true
	EOF
	cp "$tmp/good/consul.hcl" "$tmp/bad/consul.hcl"
	echo 'no_such_key = true' >>"$tmp/bad/consul.hcl"
	local out status=0
	out=$("$1" validate "$tmp/good" 2>&1) || status=$?
	if ((status != 0)); then
		rm -rf "$tmp"
		fail "consul validate rejected a valid config: $out"
	fi
	status=0
	"$1" validate "$tmp/bad" >/dev/null 2>&1 || status=$?
	rm -rf "$tmp"
	((status != 0)) || fail "consul validate accepted a config with an unknown key"
}

smoke() { # name binary expected-first-line
	smoke_version "$2" "$3"
	if [[ $1 == consul ]]; then
		smoke_consul_validate "$2"
	fi
}

main() {
	command -v go >/dev/null || fail "go not found in PATH"
	local stale=() line name version cgo expected start
	for line in "${servers[@]}"; do
		read -r name version _ <<<"$line"
		is_current "$name" "$version" || stale+=("$line")
	done

	if ((${#stale[@]} > 0)); then
		start=$EPOCHSECONDS
		for line in "${stale[@]}"; do
			read -r name version _ <<<"$line"
			download "$name" "$version"
		done
		echo "modules downloaded in $((EPOCHSECONDS - start))s"
	fi

	for line in "${servers[@]}"; do
		read -r name version cgo expected <<<"$line"
		start=$EPOCHSECONDS
		if is_current "$name" "$version"; then
			smoke "$name" "$(binary_path "$name" "$version")" "$expected"
			echo "$name $version: up to date, checked in $((EPOCHSECONDS - start))s: $(binary_path "$name" "$version")"
			continue
		fi
		build "$name" "$version" "$cgo" "$expected"
		echo "$name $version: built in $((EPOCHSECONDS - start))s: $(binary_path "$name" "$version")"
	done
}

main "$@"
