// Package reference generates the pages under docs/ that derive from the
// code, so they cannot drift from it: the user-data reference from the
// configuration keys (docs/user-data.md), and the exposure scores of the
// shipped units from systemd-analyze (docs/security.md). Its tests fail
// when a page is stale, and also check the examples in docs/ and packer/
// against the agent's own parsers.
//
// It must never be imported by the agent: only its tests and the
// generators use it.
package reference

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hashistack/bootstrap/internal/config"
)

// UserData returns docs/user-data.md: every configuration key with its
// type, default and description, and the order in which sources win.
func UserData() []byte {
	var b bytes.Buffer
	b.WriteString(userDataIntro)
	b.WriteString("| key | type | default | description |\n| --- | --- | --- | --- |\n")
	for _, k := range config.Keys() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, k.Type, defaultText(k), cell(k.Doc))
	}
	b.WriteString(userDataOutro)
	return b.Bytes()
}

func defaultText(k config.Key) string {
	switch {
	case k.Default != "":
		return "`" + cell(k.Default) + "`"
	case k.DefaultFrom != "":
		return "from " + cell(k.DefaultFrom)
	}
	return "none"
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

const userDataIntro = `# User-data and configuration reference

<!-- Generated from internal/config (Keys) by internal/reference; do not edit.
     Regenerate with: go test ./internal/reference -update -->

The agent builds one configuration per node from five sources. A later source wins, key by
key:

1. built-in defaults (the table below),
2. the AMI's ` + "`/etc/bootstrap/bootstrap.toml`" + `, baked per environment,
3. instance tags under the prefix ` + "`hashistack:`" + ` (` + "`tags.prefix`" + `), such as
   ` + "`hashistack:role`" + ` or ` + "`hashistack:join.consul`" + `, read from IMDS when instance metadata tags are
   enabled and from ` + "`ec2:DescribeTags`" + ` otherwise,
4. user-data: a TOML document, plain or gzip-compressed, or the ` + "`application/toml`" + ` part of
   a MIME multipart message,
5. command-line flags: ` + "`--role`" + ` and ` + "`--set key=value`" + `.

` + "`diagnose --explain`" + ` and ` + "`state.json`" + ` (` + "`provenance`" + `) show where every effective value came from.

Rules that hold for every source:

- Two sources that set different roles are an error, not an override.
- An unknown key is an error naming where it was set: file or user-data line and column, tag or flag.
- Identifiers (role, namespace, datacenter, region, environment, node class) must match a strict
  pattern; other values are quoted when rendered.
- A key that looks like a secret (token, password, private key, ...) in a tag or in user-data is
  an error: any process on the host can read both through IMDS. Secrets come from Vault.
- Keys that decide what the node trusts, such as ` + "`tags.prefix`" + `, ` + "`dns.server`" + ` and
  ` + "`vault.tls_disable`" + `, can be set only in the file or a flag, because whoever can tag or launch an
  instance is a wider group than whoever bakes the AMI. The error names the key.

## Writing values

| type | in TOML (file, user-data) | in a tag or ` + "`--set`" + ` |
| --- | --- | --- |
| string | ` + "`\"text\"`" + ` | ` + "`text`" + ` |
| list of strings | ` + "`[\"a.example\", \"b.example\"]`" + ` | ` + "`a.example,b.example`" + ` |
| integer | ` + "`3`" + ` | ` + "`3`" + ` |
| boolean | ` + "`true`" + ` | ` + "`true`" + ` |
| duration | ` + "`\"2m\"`" + ` (Go duration syntax) | ` + "`2m`" + ` |

A dotted key is a TOML table in the file and in user-data (` + "`join.consul`" + ` is
` + "`consul`" + ` in ` + "`[join]`" + `), and the tag name after the prefix (` + "`hashistack:join.consul`" + `).

## Keys

`

const userDataOutro = `
"from KEY" means the key takes the effective value of that other key when no source sets it.

## Example

A Nomad client's user-data; the AMI's file supplies the environment's shared settings:

` + "```toml" + `
role       = "nomad-client"
namespace  = "payments"
datacenter = "eu-west-1"

[join]
consul = ["consul-servers.ops.example.internal"]
nomad  = ["nomad-servers.ops.example.internal"]

[lifecycle]
on_failure = "abandon"
` + "```" + `

See docs/launch.md for the same document beside a cloud-init part in a MIME multipart message.
`
