// Package harness runs the real Consul, Vault and Nomad servers that
// realservers locates, for tests that check the agent against them. It
// provides the binaries (or a skip), scratch nodes whose units run them, a
// DNS server on port 53 of a loopback address with a resolv.conf naming
// it, an AWS KMS stand-in for Vault's awskms seal, and the operator's Vault
// and Consul fixtures. It also measures the servers' peak memory and
// cleans up what Nomad leaves behind.
//
// Every server it starts or configures listens on loopback only, with
// update checks off (CHECKPOINT_DISABLE=1 and disable_update_check), and
// every process, cgroup and mount it makes is removed in t.Cleanup, also
// when the test fails. It never sends traffic anywhere but loopback, and
// it never starts a systemd manager itself: the tests use
// internal/testenv/systemd for that.
package harness
