package render

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl"

	"github.com/hashistack/bootstrap/internal/node"
)

// hostileValues are strings that break naive quoting. The config stage
// rejects some of them (newlines, NUL) in most keys, but the quoting must
// be right for all of them on its own.
var hostileValues = []struct {
	name  string
	value string
}{
	{"double_quote", `pay"ments`},
	{"quote_at_end", `payments"`},
	{"backslash", `pay\ments`},
	{"backslash_at_end", `payments\`},
	{"escaped_quote", `\"`},
	{"percent_brace", `%{ if true }x%{ endif }`},
	{"dollar", `$payments$`},
	{"go_template", `{{ .Config }}`},
	{"newline", "pay\nments"},
	{"crlf", "pay\r\nments"},
	{"tab", "pay\tments"},
	{"nul", "pay\x00ments"},
	{"delete", "pay\x7fments"},
	{"line_separator", "pay\u2028ments"},
	{"non_ascii", "zahlungsverkehr-é-日本-😀"},
	{"invalid_utf8", "pay\xffments"},
	{"hcl_comment", `# not a comment`},
	{"block_comment", `/* x */`},
	{"heredoc", "<<EOF\nx\nEOF"},
	{"braces", `} x = { y`},
	{"equals", `a = "b"`},
	{"empty", ""},
	{"long_4k", strings.Repeat("abc\"\\", 820)},
}

func TestQuoteHCLRoundTrip(t *testing.T) {
	for _, tc := range hostileValues {
		t.Run(tc.name, func(t *testing.T) {
			quoted, err := quoteHCL(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := hcl.Unmarshal([]byte("key = "+quoted+"\n"), &got); err != nil {
				t.Fatalf("parse %s: %v", quoted, err)
			}
			if diff := cmp.Diff(map[string]any{"key": tc.value}, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuoteHCLListRoundTrip(t *testing.T) {
	var values []string
	for _, tc := range hostileValues {
		values = append(values, tc.value)
	}
	quoted, err := quoteHCLList(values)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := hcl.Unmarshal([]byte("key = "+quoted+"\n"), &got); err != nil {
		t.Fatalf("parse list: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"key": stringList(values...)}, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestQuoteHCLRejectsInterpolation(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{"alone", "${"},
		{"expression", "${env.HOME}"},
		{"doubled_dollar", "$${x}"},
		{"in_the_middle", `a"${b`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := quoteHCL(tc.value)
			var unquotable *UnquotableError
			if !errors.As(err, &unquotable) {
				t.Fatalf("quoteHCL error = %v, want *UnquotableError", err)
			}
			for _, want := range []string{"value " + strconv.Quote(tc.value), `contains "${"`, "remove"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if _, err := quoteHCLList([]string{"ok", tc.value}); !errors.As(err, &unquotable) {
				t.Errorf("quoteHCLList error = %v, want *UnquotableError", err)
			}
		})
	}
}

// TestPlanHostileValues renders every role with each hostile value in every
// field that comes from tags or user-data, parses the result back and checks
// that each field holds the value unchanged.
func TestPlanHostileValues(t *testing.T) {
	fields := map[string][]string{
		"consul-server": {"datacenter", "node_name", "node_meta.namespace", "node_meta.environment"},
		"nomad-server":  {"datacenter", "name", "vault.address", "vault.create_from_role"},
		"nomad-client": {"datacenter", "name", "client.node_class", "client.meta.namespace",
			"client.meta.environment", "vault.address"},
		"vault-server": {"storage.raft.node_id", "seal.awskms.region", "seal.awskms.kms_key_id", "seal.awskms.endpoint"},
	}
	lists := map[string]string{
		"consul-server": "retry_join",
		"nomad-server":  "server.server_join.retry_join",
		"nomad-client":  "client.server_join.retry_join",
	}
	root := newScratchRoot(t, "")
	for _, tc := range hostileValues {
		if tc.value == "" {
			continue // an empty seal endpoint is left out of the file by design
		}
		t.Run(tc.name, func(t *testing.T) {
			for role, keys := range fields {
				cfg := hostileConfig(role, tc.value)
				got, _ := planRole(t, root, role, cfg)

				want := map[string]any{}
				for _, k := range keys {
					want[k] = tc.value
				}
				if list, ok := lists[role]; ok {
					want[list] = stringList("first.example.internal", tc.value)
				}
				if diff := cmp.Diff(want, lookupAll(got, keysOf(want))); diff != "" {
					t.Errorf("%s values (-want +got):\n%s", role, diff)
				}
			}
		})
	}
}

func hostileConfig(role, value string) node.Config {
	cfg := testConfig(role)
	cfg.Datacenter, cfg.Namespace, cfg.Environment = value, value, value
	cfg.NodeName, cfg.NodeClass = value, value
	cfg.Vault.Address = value
	cfg.Nomad.Version = "1.6.2" // the legacy form also renders the namespace
	cfg.Seal.Region, cfg.Seal.KMSKeyID, cfg.Seal.Endpoint = value, value, value
	list := []string{"first.example.internal", value}
	cfg.Join.Consul, cfg.Join.Nomad = list, list
	return cfg
}

func TestPlanHostileFingerprintDenylist(t *testing.T) {
	cfg := testConfig("nomad-client")
	cfg.Nomad.FingerprintDenylist = []string{`env"aws`, `env\gce`}

	got, _ := planRole(t, newScratchRoot(t, ""), "nomad-client", cfg)

	options := lookup(got, "client.options").([]map[string]any)
	if diff := cmp.Diff(`env"aws,env\gce`, options[0]["fingerprint.denylist"]); diff != "" {
		t.Errorf("fingerprint.denylist (-want +got):\n%s", diff)
	}
}

func TestPlanRejectsInterpolation(t *testing.T) {
	tests := []struct {
		name   string
		role   string
		mutate func(c *node.Config)
		field  string // the template field named in the error
	}{
		{"datacenter", "consul-server", func(c *node.Config) { c.Datacenter = "dc-${x}" }, ".Config.Datacenter"},
		{"join_list", "consul-server", func(c *node.Config) { c.Join.Consul = []string{"ok", "${x}"} }, ".Config.Join.Consul"},
		{"kms_key", "vault-server", func(c *node.Config) { c.Seal.KMSKeyID = "key${" }, ".Config.Seal.KMSKeyID"},
		{"vault_address", "nomad-client", func(c *node.Config) { c.Vault.Address = "https://${x}" }, ".Config.Vault.Address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.role)
			tc.mutate(&cfg)

			_, err := Plan(Input{Root: newScratchRoot(t, ""), Role: loadRole(t, tc.role), Config: cfg})

			var unquotable *UnquotableError
			if !errors.As(err, &unquotable) {
				t.Fatalf("Plan error = %v, want *UnquotableError", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name the field %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), "render "+tc.role+".hcl") {
				t.Errorf("error %q does not name the template", err)
			}
		})
	}
}

func TestEscapeSystemdPath(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{name: "plain", path: "/etc/consul.d/consul.hcl", want: "/etc/consul.d/consul.hcl"},
		{name: "space", path: "/scratch root/etc/x", want: "/scratch root/etc/x"},
		{name: "percent", path: "/50%/etc/x", want: "/50%%/etc/x"},
		{name: "newline", path: "/a\nb/x", wantErr: "control character"},
		{name: "trailing_backslash", path: `/a/x\`, wantErr: "line continuation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := escapeSystemdPath(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("escapeSystemdPath error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("escapeSystemdPath = %q, want %q", got, tc.want)
			}
		})
	}
}
