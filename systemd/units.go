// Package systemd holds the unit files shipped in the AMI and embeds them
// for the packager: bootstrap.service, which runs the agent at every boot,
// and the hardened consul, nomad and vault units that the agent starts.
//
// Only bootstrap.service has an [Install] section. The agents' units are
// never enabled, because the role decides which of them run, and bootstrap
// starts those after it has rendered their configs.
//
// The package contains data only and must never run or talk to systemd.
package systemd

import "embed"

// Files contains every unit file of this directory, by file name.
//
//go:embed *.service
var Files embed.FS
