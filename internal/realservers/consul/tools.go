//go:build tools

// Package consul pins the Consul main package into this wrapper module, so that
// `go build github.com/hashicorp/consul` resolves it with the versions in go.mod.
// It is never compiled: the tools build tag is never set.
package consul

import _ "github.com/hashicorp/consul"
