# One AMI per environment for every node of the HashiCorp stack: the
# bootstrap agent and its units (from the Debian package), the Consul, Nomad
# and Vault binaries, and the environment's /etc/bootstrap/bootstrap.toml.
# bootstrap.service is enabled; it picks the node's role at first boot.
#
# Checked with Packer 1.6.6, whose amazon-ebs builder is built in. Packer
# 1.7 and later need a required_plugins block for the Amazon plugin and
# packer init; see docs/launch.md.

locals {
  timestamp = formatdate("YYYYMMDDhhmmss", timestamp())
  ami_name  = "hashistack-${var.environment}-${local.timestamp}"
}

source "amazon-ebs" "node" {
  region        = var.region
  ami_name      = local.ami_name
  instance_type = var.instance_type
  ssh_username  = var.ssh_username
  subnet_id     = var.subnet_id

  source_ami_filter {
    filters     = var.base_ami_filter
    owners      = var.base_ami_owners
    most_recent = true
  }

  encrypt_boot = true
  kms_key_id   = var.kms_key_id

  # NOTE: Packer 1.6.6 has no metadata_options or imds_support settings, so
  # the builder instance accepts IMDSv1. The launch template of the nodes
  # must require IMDSv2 (docs/launch.md); with the Amazon plugin 1.0 or
  # later, add imds_support = "v2.0" here so the AMI itself requires it.

  # AMI tags for people and inventory. They do not reach the instances,
  # whose tags under hashistack: are configuration.
  tags = {
    Name           = local.ami_name
    environment    = var.environment
    consul_version = var.consul_version
    nomad_version  = var.nomad_version
    vault_version  = var.vault_version
  }
}

build {
  sources = ["source.amazon-ebs.node"]

  provisioner "file" {
    source      = var.bootstrap_deb
    destination = "/tmp/bootstrap.deb"
  }

  provisioner "file" {
    source      = var.release_keyring
    destination = "/tmp/hashicorp-release.gpg"
  }

  provisioner "file" {
    source      = "${path.root}/environments/${var.environment}.toml"
    destination = "/tmp/bootstrap.toml"
  }

  provisioner "shell" {
    execute_command = "sudo -E sh -eu '{{ .Path }}'"
    environment_vars = [
      "ARCH=${var.arch}",
      "CONSUL_VERSION=${var.consul_version}",
      "NOMAD_VERSION=${var.nomad_version}",
      "VAULT_VERSION=${var.vault_version}",
      "RELEASES_URL=${var.releases_url}",
      "ENVIRONMENT=${var.environment}",
    ]
    scripts = [
      "${path.root}/scripts/install-hashicorp.sh",
      "${path.root}/scripts/install-bootstrap.sh",
      "${path.root}/scripts/clean-image.sh",
    ]
  }
}
