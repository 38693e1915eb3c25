//go:build tools

// Package vault pins the Vault main package into this wrapper module, so that
// `go build github.com/hashicorp/vault` resolves it with the versions in go.mod.
// It is never compiled: the tools build tag is never set.
package vault

import _ "github.com/hashicorp/vault"
