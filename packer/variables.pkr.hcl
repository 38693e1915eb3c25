# Inputs of the bake. Packer 1.6.6 (Debian 12's package) evaluates no
# function inside a validation block, so the checks that need a pattern run
# in scripts/*.sh on the builder instead.

variable "region" {
  type        = string
  description = "AWS region the AMI is built in."
  default     = "eu-west-1"
}

variable "environment" {
  type        = string
  description = "Environment the AMI is for, such as prod; selects environments/<environment>.toml."

  validation {
    condition     = var.environment != ""
    error_message = "Set environment, such as -var environment=prod."
  }
}

variable "instance_type" {
  type        = string
  description = "Instance type of the builder instance."
  default     = "t3.small"
}

variable "base_ami_filter" {
  type        = map(string)
  description = "Filters of the base AMI search (ec2:DescribeImages filter names); the newest match is used."
  default = {
    name                = "debian-12-amd64-*"
    architecture        = "x86_64"
    root-device-type    = "ebs"
    virtualization-type = "hvm"
  }
}

variable "base_ami_owners" {
  type        = list(string)
  description = "Accounts whose AMIs the filter searches; the default is the Debian project's AWS account."
  default     = ["136693071363"]
}

variable "ssh_username" {
  type        = string
  description = "Login user of the base AMI."
  default     = "admin"
}

variable "subnet_id" {
  type        = string
  description = "Subnet of the builder instance; empty lets Packer use the default VPC."
  default     = ""
}

variable "kms_key_id" {
  type        = string
  description = "KMS key that encrypts the AMI's snapshot; empty uses the account's default EBS key."
  default     = ""
}

variable "arch" {
  type        = string
  description = "Architecture of the HashiCorp release archives: amd64 or arm64; it must match base_ami_filter."
  default     = "amd64"
}

variable "consul_version" {
  type        = string
  description = "Consul release to install, MAJOR.MINOR.PATCH."
}

variable "nomad_version" {
  type        = string
  description = "Nomad release to install, MAJOR.MINOR.PATCH; baked into bootstrap.toml as nomad.version."
}

variable "vault_version" {
  type        = string
  description = "Vault release to install, MAJOR.MINOR.PATCH."
}

variable "releases_url" {
  type        = string
  description = "Base URL of the HashiCorp release archives: HashiCorp's own, or an internal mirror with the same layout."
  default     = "https://releases.hashicorp.com"
}

variable "release_keyring" {
  type        = string
  description = "Local path of a GPG keyring holding HashiCorp's release signing key; every SHA256SUMS file is verified against it."
}

variable "bootstrap_deb" {
  type        = string
  description = "Local path of the bootstrap Debian package, built with make deb."
}
