//go:build tools

// Package nomad pins the Nomad main package into this wrapper module, so that
// `go build github.com/hashicorp/nomad` resolves it with the versions in go.mod.
// It is never compiled: the tools build tag is never set.
package nomad

import _ "github.com/hashicorp/nomad"
