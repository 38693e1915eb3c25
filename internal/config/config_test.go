package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/node"
)

const filePath = "/etc/bootstrap/bootstrap.toml"

// clientUserData is a complete user-data document for a Nomad client.
const clientUserData = `role = "nomad-client"
namespace = "payments"
environment = "prod"

[join]
nomad = ["nomad-servers.ops.example.internal"]
`

// clientSources returns valid sources for a Nomad client that set
// everything through user-data, beside tags that belong to others.
func clientSources() Sources {
	return Sources{
		FilePath: filePath,
		Tags: map[string]string{
			"Name":                      "payments-client",
			"aws:autoscaling:groupName": "payments-clients",
		},
		UserData: []byte(clientUserData),
		Instance: node.Instance{InstanceID: "i-0abc123def4567890", Region: "eu-west-1"},
	}
}

func mustLoad(t *testing.T, s Sources) (node.Config, node.Provenance) {
	t.Helper()
	cfg, prov, err := Load(s)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg, prov
}

func TestLoadClientDefaults(t *testing.T) {
	cfg, prov := mustLoad(t, clientSources())
	want := node.Config{
		Role:        "nomad-client",
		Namespace:   "payments",
		Datacenter:  "eu-west-1",
		Environment: "prod",
		Region:      "eu-west-1",
		NodeName:    "i-0abc123def4567890",
		NodeClass:   "payments",
		Tags:        node.TagsConfig{Prefix: "hashistack:"},
		Join:        node.JoinConfig{Nomad: []string{"nomad-servers.ops.example.internal"}},
		Network:     node.NetworkConfig{Bind: "{{ GetPrivateIP }}", Client: "127.0.0.1"},
		DNS:         node.DNSConfig{Wait: node.Duration{Duration: 2 * time.Minute}},
		Consul:      node.ConsulConfig{BootstrapExpect: 3},
		Vault: node.VaultConfig{AuthPath: "aws", Role: "payments", STSRegion: "eu-west-1",
			TLSSource: "secrets-manager", TLSDir: "/etc/vault.d/tls"},
		Secrets: node.SecretsConfig{KVMount: "secret", ConsulMount: "consul", PKIMount: "pki"},
		Seal:    node.SealConfig{Region: "eu-west-1"},
		Nomad:   node.NomadConfig{BootstrapExpect: 3, VaultMode: "workload-identity"},
		Lifecycle: node.LifecycleConfig{OnFailure: "abandon",
			MaxWait: node.Duration{Duration: 10 * time.Minute}},
		Systemd: node.SystemdConfig{UnitDir: "/etc/systemd/system"},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	wantProv := node.Provenance{}
	for _, k := range Keys() {
		wantProv[k.Name] = "default"
	}
	for key, source := range map[string]string{
		"role":        "user-data line 1",
		"namespace":   "user-data line 2",
		"environment": "user-data line 3",
		"join.nomad":  "user-data line 6",
		"region":      "instance identity document",
		"node_name":   "instance id",
		"datacenter":  "default from region",
		"seal.region": "default from region",
		"node_class":  "default from namespace",
		"vault.role":  "default from namespace",

		"vault.sts_region": "default from region",
		"nomad.vault_mode": "default from nomad.version",
	} {
		wantProv[key] = source
	}
	if diff := cmp.Diff(wantProv, prov); diff != "" {
		t.Errorf("provenance (-want +got):\n%s", diff)
	}
}

// baseTags sets the required keys of a Nomad client through tags, so that
// tests of other keys can use the file, user-data and flags freely.
func baseTags() map[string]string {
	return map[string]string{
		"Name":                   "payments-client",
		"hashistack:role":        "nomad-client",
		"hashistack:namespace":   "payments",
		"hashistack:environment": "prod",
		"hashistack:join.nomad":  "nomad-servers.ops.example.internal",
	}
}

func TestLoadPrecedence(t *testing.T) {
	file := `# baked per environment
nomad.version = "1.6.2"
datacenter = "dc-file"

[dns]
wait = "5m"

[lifecycle]
on_failure = "hold"
`
	tests := []struct {
		name     string
		file     string
		tags     map[string]string
		userData string
		flags    []Flag
		key      string
		want     string
		wantProv string
	}{
		{"default", "", nil, "", nil, "dns.wait", "2m0s", "default"},
		{"file_over_default", file, nil, "", nil, "dns.wait", "5m0s",
			"file " + filePath + " line 6"},
		{"tag_over_file", file, map[string]string{"hashistack:dns.wait": "7m"}, "", nil,
			"dns.wait", "7m0s", "tag hashistack:dns.wait"},
		{"user_data_over_tag", file, map[string]string{"hashistack:dns.wait": "7m"},
			"[dns]\nwait = \"8m\"\n", nil, "dns.wait", "8m0s", "user-data line 2"},
		{"flag_over_user_data", file, map[string]string{"hashistack:dns.wait": "7m"},
			"[dns]\nwait = \"8m\"\n", []Flag{{Key: "dns.wait", Value: "9m", Name: "--set"}},
			"dns.wait", "9m0s", "flag --set dns.wait"},
		{"later_flag_wins", "", nil, "", []Flag{
			{Key: "nomad.version", Value: "1.7.0", Name: "--set"},
			{Key: "nomad.version", Value: "1.8.0", Name: "--nomad.version"}},
			"nomad.version", "1.8.0", "flag --nomad.version"},
		{"file_only", file, nil, "", nil, "lifecycle.on_failure", "hold",
			"file " + filePath + " line 9"},
		{"file_dotted_key", file, nil, "", nil, "nomad.version", "1.6.2",
			"file " + filePath + " line 2"},
		{"user_data_over_file", file, nil, "\n\nnomad.version = \"1.9.0\"\n", nil,
			"nomad.version", "1.9.0", "user-data line 3"},
		{"tag_list", "", map[string]string{"hashistack:join.consul": "a.example, b.example"},
			"", nil, "join.consul", "a.example b.example", "tag hashistack:join.consul"},
		{"flag_list", "", nil, "", []Flag{{Key: "join.consul", Value: "c.example,d.example",
			Name: "--set"}}, "join.consul", "c.example d.example", "flag --set join.consul"},
		{"user_data_list", "", nil, "[join]\nconsul = [\n  \"e.example\",\n]\n", nil,
			"join.consul", "e.example", "user-data line 2"},
		{"inline_table", "", nil, "vault = { address = \"https://v.example:8200\" }\n", nil,
			"vault.address", "https://v.example:8200", "user-data line 1"},
		{"flag_bool", "", nil, "", []Flag{{Key: "vault.tls_disable", Value: "true",
			Name: "--set"}}, "vault.tls_disable", "true", "flag --set vault.tls_disable"},
		{"tag_integer", "", map[string]string{"hashistack:nomad.bootstrap_expect": "5"}, "",
			nil, "nomad.bootstrap_expect", "5", "tag hashistack:nomad.bootstrap_expect"},
		{"explicit_datacenter", file, nil, "", nil, "datacenter", "dc-file",
			"file " + filePath + " line 3"},
		{"derived_after_override", "", map[string]string{"hashistack:region": "us-east-2"},
			"", nil, "datacenter", "us-east-2", "default from region"},
		{"other_prefix_skipped", "", map[string]string{"other:dns.wait": "bad"}, "", nil,
			"dns.wait", "2m0s", "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Sources{FilePath: filePath, Tags: baseTags(), Flags: tc.flags,
				Instance: node.Instance{InstanceID: "i-0abc", Region: "eu-west-1"}}
			if tc.file != "" {
				s.File = []byte(tc.file)
			}
			if tc.userData != "" {
				s.UserData = []byte(tc.userData)
			}
			for k, v := range tc.tags {
				s.Tags[k] = v
			}
			cfg, prov := mustLoad(t, s)
			if got := valueText(&cfg, tc.key); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
			}
			if got := prov[tc.key]; got != tc.wantProv {
				t.Errorf("provenance of %s = %q, want %q", tc.key, got, tc.wantProv)
			}
		})
	}
}

// valueText formats the value of key in cfg, lists joined by spaces.
func valueText(cfg *node.Config, key string) string {
	v := keyByName[key].field(cfg).Interface()
	switch v := v.(type) {
	case []string:
		return strings.Join(v, " ")
	case node.Duration:
		return v.String()
	}
	return fmt.Sprint(v)
}
