#!/bin/sh
# Installs, upgrades, removes and purges a bootstrap package in a scratch
# root and checks what each step leaves, the way CI runs it:
#   packer/deb/install-test.sh bin/bootstrap_VERSION_ARCH.deb
# The scratch root has an empty dpkg database, so the systemd dependency is
# forced; the maintainer scripts run outside a chroot with DPKG_ROOT set.
set -eu

deb=$(realpath "$1")
root=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$root" "$log"' EXIT

fail() {
	echo "install-test: $*" >&2
	exit 1
}

# dpkg_root runs dpkg on the scratch root; its output, warnings about the
# forced dependency included, is shown only when it fails.
dpkg_root() {
	if ! dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-depends "$@" >"$log" 2>&1; then
		cat "$log" >&2
		fail "dpkg $* failed"
	fi
}

mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
: >"$root/var/lib/dpkg/status"

dpkg_root --install "$deb"
for f in usr/bin/bootstrap etc/bootstrap/bootstrap.toml \
	usr/lib/systemd/system/bootstrap.service usr/lib/systemd/system/consul.service \
	usr/lib/systemd/system/nomad.service usr/lib/systemd/system/vault.service \
	usr/lib/sysusers.d/bootstrap.conf usr/lib/tmpfiles.d/bootstrap.conf; do
	[ -e "$root/$f" ] || fail "install: /$f missing"
done
[ -x "$root/usr/bin/bootstrap" ] || fail "install: /usr/bin/bootstrap is not executable"
"$root/usr/bin/bootstrap" version >/dev/null || fail "install: bootstrap version failed"
for user in consul nomad vault; do
	grep -q "^$user:x:[0-9]*:[0-9]*:[^:]*:/var/lib/$user:/usr/sbin/nologin\$" "$root/etc/passwd" ||
		fail "install: service user $user missing from /etc/passwd"
done
grep -q '^d /run/bootstrap 0711 root root' "$root/usr/lib/tmpfiles.d/bootstrap.conf" ||
	fail "install: tmpfiles entry for /run/bootstrap missing"
echo "install-test: install ok"

# The bake enables the unit; an upgrade keeps users and the enablement.
systemctl --root="$root" enable bootstrap.service 2>/dev/null
wants="$root/etc/systemd/system/multi-user.target.wants/bootstrap.service"
[ -L "$wants" ] || fail "enable: $wants missing"
dpkg_root --install "$deb"
[ -L "$wants" ] || fail "upgrade: bootstrap.service no longer enabled"
[ "$(grep -c '^consul:' "$root/etc/passwd")" = 1 ] || fail "upgrade: consul user duplicated"
echo "install-test: upgrade ok"

mkdir -p "$root/var/lib/bootstrap" "$root/run/bootstrap/consul"
echo '{}' >"$root/var/lib/bootstrap/state.json"
dpkg_root --remove bootstrap
[ ! -e "$root/usr/bin/bootstrap" ] || fail "remove: /usr/bin/bootstrap left"
[ ! -e "$root/usr/lib/systemd/system/bootstrap.service" ] || fail "remove: unit left"
[ ! -L "$wants" ] || fail "remove: bootstrap.service still enabled"
[ -e "$root/etc/bootstrap/bootstrap.toml" ] || fail "remove: conffile removed before purge"
dpkg --root="$root" --status bootstrap | grep -q '^Status: deinstall ok config-files' ||
	fail "remove: package not in config-files state"
echo "install-test: remove ok"

dpkg_root --purge bootstrap
[ ! -e "$root/etc/bootstrap/bootstrap.toml" ] || fail "purge: conffile left"
[ ! -e "$root/var/lib/bootstrap" ] || fail "purge: /var/lib/bootstrap left"
[ ! -e "$root/run/bootstrap" ] || fail "purge: /run/bootstrap left"
if dpkg --root="$root" --status bootstrap >/dev/null 2>&1; then
	fail "purge: package still known to dpkg"
fi
echo "install-test: purge ok"
