// Package realservers finds the real Consul, Vault and Nomad binaries that
// build.sh builds for the integration tests.
package realservers
