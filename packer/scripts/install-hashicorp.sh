#!/bin/sh
# Installs the Consul, Nomad and Vault binaries into /usr/bin from
# $RELEASES_URL, which has the layout of releases.hashicorp.com:
#   PRODUCT/VERSION/PRODUCT_VERSION_linux_ARCH.zip
#   PRODUCT/VERSION/PRODUCT_VERSION_SHA256SUMS and its .sig
# Every SHA256SUMS file must carry a valid signature from the keyring
# uploaded to /tmp/hashicorp-release.gpg, and every archive its checksum.
set -eu

keyring=/tmp/hashicorp-release.gpg

check_version() {
	if ! printf '%s\n' "$2" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(\+ent)?$'; then
		echo "invalid $1 version \"$2\": use MAJOR.MINOR.PATCH" >&2
		exit 1
	fi
}

case "$ARCH" in
amd64 | arm64) ;;
*)
	echo "invalid arch \"$ARCH\": use amd64 or arm64" >&2
	exit 1
	;;
esac
check_version consul "$CONSUL_VERSION"
check_version nomad "$NOMAD_VERSION"
check_version vault "$VAULT_VERSION"

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends ca-certificates curl gpgv unzip

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

install_release() {
	product=$1
	version=$2
	base="$RELEASES_URL/$product/$version"
	zip="${product}_${version}_linux_${ARCH}.zip"
	sums="${product}_${version}_SHA256SUMS"
	curl --fail --silent --show-error --location --proto '=https,file' \
		--output "$work/$zip" "$base/$zip" \
		--output "$work/$sums" "$base/$sums" \
		--output "$work/$sums.sig" "$base/$sums.sig"
	gpgv --keyring "$keyring" "$work/$sums.sig" "$work/$sums"
	# sha256sum fails on empty input, so a missing line fails too.
	(cd "$work" && awk -v f="$zip" '$2 == f' "$sums" | sha256sum --check --strict)
	unzip -o -q "$work/$zip" "$product" -d "$work"
	install -m 0755 -o root -g root "$work/$product" "/usr/bin/$product"
	echo "installed $product $version from $base"
}

install_release consul "$CONSUL_VERSION"
install_release nomad "$NOMAD_VERSION"
install_release vault "$VAULT_VERSION"
rm -f "$keyring"
