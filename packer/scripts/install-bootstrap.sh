#!/bin/sh
# Installs the bootstrap package, bakes the environment's bootstrap.toml
# with the Nomad version filled in, and enables bootstrap.service. The
# package does not enable the unit itself: only an image meant to run the
# agent at boot should.
set -eu

if ! printf '%s\n' "$ENVIRONMENT" | grep -Eq '^[a-z][a-z0-9-]{0,31}$'; then
	echo "invalid environment \"$ENVIRONMENT\": use lower-case letters, digits and -" >&2
	exit 1
fi

apt-get install -y -qq /tmp/bootstrap.deb
rm -f /tmp/bootstrap.deb

# The environment file carries @NOMAD_VERSION@ where nomad.version goes, so
# the agent knows the installed version without running the binary.
if ! grep -q '@NOMAD_VERSION@' /tmp/bootstrap.toml; then
	echo "environments/$ENVIRONMENT.toml has no @NOMAD_VERSION@ placeholder for nomad.version" >&2
	exit 1
fi
sed "s/@NOMAD_VERSION@/$NOMAD_VERSION/g" /tmp/bootstrap.toml >/etc/bootstrap/bootstrap.toml.new
chmod 0644 /etc/bootstrap/bootstrap.toml.new
mv /etc/bootstrap/bootstrap.toml.new /etc/bootstrap/bootstrap.toml
rm -f /tmp/bootstrap.toml

systemctl enable bootstrap.service
