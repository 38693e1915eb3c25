package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hashistack/bootstrap/internal/node"
)

// Type names the value type of a key as the user-data reference shows it.
type Type string

// The value types of configuration keys.
const (
	TypeString   Type = "string"
	TypeList     Type = "list of strings"
	TypeInteger  Type = "integer"
	TypeBoolean  Type = "boolean"
	TypeDuration Type = "duration"
)

// article returns the type name with "a" or "an" before it.
func (t Type) article() string {
	if t == TypeInteger {
		return "an " + string(t)
	}
	return "a " + string(t)
}

// Key describes one configuration key, for validation and for the
// generated user-data reference.
type Key struct {
	// Name is the dotted TOML key, such as "join.consul".
	Name string
	Type Type
	// Default is the built-in value as it would be written in a tag, such
	// as "2m"; empty when the key has no built-in value.
	Default string
	// DefaultFrom names what the value defaults to when nothing sets it and
	// it is not a constant, such as "region" or "namespace".
	DefaultFrom string
	// Doc is a one-sentence description.
	Doc string
}

// keyTable lists every key of node.Config in the order of its fields.
// TestKeysCoverConfig checks that the two stay in step.
var keyTable = []Key{
	{Name: "role", Type: TypeString, Doc: "Role of the node, the name of a role file."},
	{Name: "namespace", Type: TypeString,
		Doc: "Namespace (business unit) the node serves; required."},
	{Name: "datacenter", Type: TypeString, DefaultFrom: "region",
		Doc: "Consul and Nomad datacenter."},
	{Name: "environment", Type: TypeString, Doc: "Environment, such as prod; required."},
	{Name: "region", Type: TypeString, DefaultFrom: "instance identity document",
		Doc: "AWS region of the node."},
	{Name: "node_name", Type: TypeString, DefaultFrom: "instance id",
		Doc: "Node name in Consul and Nomad, a hostname label."},
	{Name: "node_class", Type: TypeString, DefaultFrom: "namespace",
		Doc: "Nomad node class of a client; it must equal the namespace."},
	{Name: "tags.prefix", Type: TypeString, Default: "hashistack:",
		Doc: "Prefix of the instance tags read as configuration; set only in the file or a flag."},
	{Name: "join.consul", Type: TypeList, Doc: "DNS names of the Consul servers to join."},
	{Name: "join.nomad", Type: TypeList, Doc: "DNS names of the Nomad servers to join."},
	{Name: "join.vault", Type: TypeList, Doc: "DNS names of the Vault servers to join."},
	{Name: "network.bind", Type: TypeString, Default: "{{ GetPrivateIP }}",
		Doc: "go-sockaddr template of the address the agents bind to."},
	{Name: "network.advertise", Type: TypeString,
		Doc: "go-sockaddr template of the address the agents advertise; empty means the bind address."},
	{Name: "network.client", Type: TypeString, Default: "127.0.0.1",
		Doc: "go-sockaddr template of the address the agents' HTTP APIs listen on."},
	{Name: "dns.server", Type: TypeString,
		Doc: "DNS server (IP:port) that resolves the join names; empty means the system resolver. Set only in the file or a flag."},
	{Name: "dns.wait", Type: TypeDuration, Default: "2m",
		Doc: "How long to wait for the join names to resolve, from 1s to 10m."},
	{Name: "consul.bootstrap_expect", Type: TypeInteger, Default: "3",
		Doc: "Number of Consul servers that elect the first leader, from 1 to 9."},
	{Name: "vault.address", Type: TypeString,
		Doc: "URL of the Vault cluster the node logs in to; http only for a loopback host."},
	{Name: "vault.auth_path", Type: TypeString, Default: "aws",
		Doc: "Mount path of Vault's AWS auth method."},
	{Name: "vault.server_id", Type: TypeString,
		Doc: "Value of the X-Vault-AWS-IAM-Server-ID header."},
	{Name: "vault.role", Type: TypeString, DefaultFrom: "namespace",
		Doc: "Vault AWS auth role; it must equal the namespace."},
	{Name: "vault.tls_disable", Type: TypeBoolean, Default: "false",
		Doc: "Turn TLS off on a Vault server's listener, for test clusters on loopback; set only in the file or a flag, with a loopback network.bind."},
	{Name: "vault.sts_region", Type: TypeString, DefaultFrom: "region",
		Doc: "Region whose STS endpoint the Vault login request is signed for."},
	{Name: "vault.tls_source", Type: TypeString, Default: "secrets-manager",
		Doc: "Where a Vault server's TLS certificate and key come from: secrets-manager or file."},
	{Name: "vault.tls_bundle", Type: TypeString,
		Doc: "AWS Secrets Manager secret (name or ARN) with a Vault server's TLS certificate, key and CA as JSON."},
	{Name: "vault.tls_dir", Type: TypeString, Default: "/etc/vault.d/tls",
		Doc: "Absolute directory with tls.crt, tls.key and ca.crt, read when vault.tls_source is file."},
	{Name: "secrets.kv_mount", Type: TypeString, Default: "secret",
		Doc: "Mount path of the KV v2 secrets engine holding the gossip keys."},
	{Name: "secrets.consul_mount", Type: TypeString, Default: "consul",
		Doc: "Mount path of the Consul secrets engine issuing ACL tokens."},
	{Name: "secrets.pki_mount", Type: TypeString, Default: "pki",
		Doc: "Mount path of the PKI secrets engine issuing TLS certificates."},
	{Name: "seal.kms_key_id", Type: TypeString,
		Doc: "KMS key that auto-unseals a Vault server; required for vault-server."},
	{Name: "seal.region", Type: TypeString, DefaultFrom: "region",
		Doc: "AWS region of the KMS key."},
	{Name: "seal.endpoint", Type: TypeString,
		Doc: "URL of the KMS endpoint; empty means the region's endpoint. Set only in the file or a flag."},
	{Name: "nomad.version", Type: TypeString,
		Doc: "Version of the installed Nomad, MAJOR.MINOR.PATCH."},
	{Name: "nomad.bootstrap_expect", Type: TypeInteger, Default: "3",
		Doc: "Number of Nomad servers that elect the first leader, from 1 to 9."},
	{Name: "nomad.fingerprint_denylist", Type: TypeList,
		Doc: "Nomad client fingerprinters to turn off, such as env_aws."},
	{Name: "nomad.vault_mode", Type: TypeString, DefaultFrom: "nomad.version",
		Doc: "How a Nomad server reaches Vault: workload-identity (the default from Nomad 1.7), or legacy-token for Nomad before 1.10."},
	{Name: "lifecycle.hook", Type: TypeString,
		Doc: "Name of the launch lifecycle hook; empty means the group's launching hook."},
	{Name: "lifecycle.on_failure", Type: TypeString, Default: "abandon",
		Doc: "What to do with the lifecycle hook on failure: abandon or hold."},
	{Name: "lifecycle.max_wait", Type: TypeDuration, Default: "10m",
		Doc: "How long the health stage waits for the role to turn healthy, from 10s to 48h."},
	{Name: "lifecycle.heartbeat_interval", Type: TypeDuration,
		Doc: "Time between lifecycle hook heartbeats, from 1s to 1h; empty means a third of the hook's heartbeat timeout."},
	{Name: "systemd.unit_dir", Type: TypeString, Default: "/etc/systemd/system",
		Doc: "Absolute directory of the role's unit files; set only in the file or a flag."},
}

// Keys returns every configuration key with its type and default, in the
// order of node.Config.
func Keys() []Key {
	return append([]Key(nil), keyTable...)
}

// keyDef is a Key with the index of its node.Config field.
type keyDef struct {
	Key
	index []int
}

var (
	keyDefs   []keyDef
	keyByName map[string]*keyDef
	// tableNames holds the keys that are TOML tables, such as "vault".
	tableNames map[string]bool
)

func init() {
	fields := leafFields(reflect.TypeFor[node.Config](), "", nil)
	keyByName = make(map[string]*keyDef, len(keyTable))
	tableNames = map[string]bool{}
	for _, k := range keyTable {
		index, ok := fields[k.Name]
		if !ok {
			panic("config: key " + k.Name + " has no node.Config field")
		}
		keyDefs = append(keyDefs, keyDef{Key: k, index: index})
		if table, _, ok := strings.Cut(k.Name, "."); ok {
			tableNames[table] = true
		}
	}
	for i := range keyDefs {
		keyByName[keyDefs[i].Name] = &keyDefs[i]
	}
}

// durationType is the one struct type that is a value, not a table.
var durationType = reflect.TypeFor[node.Duration]()

// leafFields maps the dotted TOML key of every non-table field of t to its
// field index.
func leafFields(t reflect.Type, prefix string, index []int) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			for k, v := range leafFields(f.Type, prefix+name+".", idx) {
				out[k] = v
			}
			continue
		}
		out[prefix+name] = idx
	}
	return out
}

// field returns the settable field of cfg that holds the key.
func (k *keyDef) field(cfg *node.Config) reflect.Value {
	return reflect.ValueOf(cfg).Elem().FieldByIndex(k.index)
}

// setText parses text, written as in a tag or a flag, and stores it in the
// key's field of cfg. A list is comma-separated. The returned *Error has no
// Source: the caller knows it.
func (k *keyDef) setText(cfg *node.Config, text string) *Error {
	f := k.field(cfg)
	switch k.Type {
	case TypeString:
		f.SetString(text)
	case TypeList:
		f.Set(reflect.ValueOf(splitList(text)))
	case TypeInteger:
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			return &Error{Key: k.Name, Value: text, Reason: "is not an integer",
				Fix: typeFix[TypeInteger], Err: ErrInvalidValue}
		}
		f.SetInt(int64(n))
	case TypeBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return &Error{Key: k.Name, Value: text, Reason: "is not a boolean",
				Fix: typeFix[TypeBoolean], Err: ErrInvalidValue}
		}
		f.SetBool(b)
	case TypeDuration:
		d, err := time.ParseDuration(strings.TrimSpace(text))
		if err != nil {
			return &Error{Key: k.Name, Value: text, Reason: "is not a duration",
				Fix: typeFix[TypeDuration], Err: ErrInvalidValue}
		}
		f.Set(reflect.ValueOf(node.Duration{Duration: d}))
	default:
		panic(fmt.Sprintf("config: key %s has unknown type %q", k.Name, k.Type))
	}
	return nil
}

// typeFix is the fix for a value of the wrong type, by key type.
var typeFix = map[Type]string{
	TypeString:   `write a quoted string, such as "payments"`,
	TypeList:     `write a list of quoted strings, such as ["a.example.internal"], or a comma-separated tag or flag value`,
	TypeInteger:  "write a whole number without quotes, such as 3",
	TypeBoolean:  "write true or false without quotes",
	TypeDuration: `write a quoted duration with a unit, such as "90s" or "2m"`,
}

// splitList splits a comma-separated tag or flag value. An empty value is
// an empty list. Empty entries between commas are kept so that validation
// reports them.
func splitList(text string) []string {
	if strings.TrimSpace(text) == "" {
		return []string{}
	}
	parts := strings.Split(text, ",")
	for i, p := range parts {
		// Only spaces are trimmed, so that validation reports control
		// characters such as tabs instead of dropping them.
		parts[i] = strings.Trim(p, " ")
	}
	return parts
}

// knownKeysHint returns a fix for an unknown key that lists the keys it may
// have meant: those of the same table, or the top-level keys and tables.
func knownKeysHint(name string) string {
	table, _, nested := strings.Cut(name, ".")
	var names []string
	if nested && tableNames[table] {
		for _, k := range keyDefs {
			if t, rest, ok := strings.Cut(k.Name, "."); ok && t == table {
				names = append(names, rest)
			}
		}
		return fmt.Sprintf("known keys in [%s] are %s", table, strings.Join(names, ", "))
	}
	seen := map[string]bool{}
	for _, k := range keyDefs {
		top, _, _ := strings.Cut(k.Name, ".")
		if !seen[top] {
			seen[top] = true
			names = append(names, top)
		}
	}
	return "known top-level keys and tables are " + strings.Join(names, ", ")
}
