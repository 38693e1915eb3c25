// Package templates embeds the text/template sources of every file the
// render stage writes. Each HCL file is the config of one role, named by the
// "template" key in roles/*.toml. dropin.conf is the systemd drop-in that
// keeps a unit from starting on a node whose configs were not rendered.
//
// The package holds data only. The functions and values the templates use
// (hcl, hclList, .Path and the rest) are defined by internal/render, which
// is the only package that executes them. A template must never print a
// value from tags or user-data without the hcl or hclList function, and must
// never contain a secret: secrets go to tmpfs through the secrets stage.
package templates

import "embed"

// FS contains the template files, by base name.
//
//go:embed *.hcl *.conf
var FS embed.FS
