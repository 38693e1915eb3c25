#!/bin/sh
# Leaves no state and no secret in the image. The agent's own clean step
# removes what a run of bootstrap or of the agents left (state, tmpfs
# secrets, rendered configs, drop-ins, data directories) and then proves
# nothing is left; the rest is what any AMI bake must drop.
set -eu

# A base AMI baked by this template runs bootstrap.service on the builder
# instance; stop everything before removing its files.
systemctl stop bootstrap.service consul.service nomad.service vault.service 2>/dev/null || true

bootstrap clean
bootstrap clean --check

# Identity of the builder instance: each instance must get its own.
cloud-init clean --logs --seed 2>/dev/null || rm -rf /var/lib/cloud/instances /var/lib/cloud/instance
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/ssh/ssh_host_*

apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
journalctl --rotate --vacuum-time=1s >/dev/null 2>&1 || true
rm -f /root/.bash_history "/home/${SUDO_USER:-admin}/.bash_history"
# Packer's temporary key; cloud-init installs the launch key pair's at boot.
rm -f "/home/${SUDO_USER:-admin}/.ssh/authorized_keys" /root/.ssh/authorized_keys
