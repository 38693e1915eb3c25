package config

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/node"
)

func withTags(tags map[string]string) Sources {
	s := clientSources()
	maps.Copy(s.Tags, tags)
	return s
}

func withUserData(doc string) Sources {
	s := clientSources()
	s.UserData = []byte(doc)
	return s
}

func withFile(doc string) Sources {
	s := clientSources()
	s.File = []byte(doc)
	return s
}

func withFlags(flags ...Flag) Sources {
	s := clientSources()
	s.Flags = flags
	return s
}

// vaultServerDoc is complete user-data for a Vault server but for
// extra, which is added at the end.
func vaultServerDoc(extra string) string {
	return `role = "vault-server"
namespace = "ops"
environment = "prod"

[join]
vault = ["vault-servers.ops.example.internal"]
` + extra
}

// errorCase is one source that Load must reject. Key, Value, Entry, Source
// and Err of the *Error are compared exactly; Reason and Fix must contain reason
// and fix.
type errorCase struct {
	name    string
	sources Sources
	want    Error
	reason  string
	fix     string
}

func runErrorCases(t *testing.T, tests []errorCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, prov, err := Load(tc.sources)
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			if !errors.Is(err, tc.want.Err) {
				t.Errorf("error class = %v, want %v", got.Err, tc.want.Err)
			}
			want := Error{Key: tc.want.Key, Value: tc.want.Value, Entry: tc.want.Entry,
				Source: tc.want.Source}
			gotFields := Error{Key: got.Key, Value: got.Value, Entry: got.Entry, Source: got.Source}
			if diff := cmp.Diff(want, gotFields); diff != "" {
				t.Errorf("error %q fields (-want +got):\n%s", err, diff)
			}
			if !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", got.Reason, tc.reason)
			}
			if got.Fix == "" || !strings.Contains(got.Fix, tc.fix) {
				t.Errorf("fix %q does not contain %q", got.Fix, tc.fix)
			}
			checkMessage(t, got)
			if diff := cmp.Diff(node.Config{}, cfg); diff != "" || prov != nil {
				t.Errorf("Load returned a config or provenance with its error")
			}
		})
	}
}

// checkMessage checks that the message names the source, the key, the
// quoted value and the fix.
func checkMessage(t *testing.T, e *Error) {
	t.Helper()
	msg := e.Error()
	parts := []string{e.Source + ":", e.Key, e.Reason, ": " + e.Fix}
	if e.Value != "" {
		parts = append(parts, quoteShort(e.Value))
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q does not contain %q", msg, p)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, _, err := Load(withUserData("role = \"nomad-client\"\nnamespace = \"pay ments\"\n"))
	want := `user-data line 2: namespace "pay ments" is not a valid identifier: ` + identifierFix
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v\nwant %s", err, want)
	}
}

func TestLoadRoleErrors(t *testing.T) {
	known := "consul-server, nomad-client, nomad-server, vault-server"
	runErrorCases(t, []errorCase{
		{"missing", withUserData("namespace = \"payments\"\n"),
			Error{Key: "role", Err: ErrMissing}, "is missing", known},
		{"unknown", func() Sources {
			s := withUserData("namespace = \"payments\"\n")
			s.Tags["hashistack:role"] = "nomad-agent"
			return s
		}(), Error{Key: "role", Value: "nomad-agent", Source: "tag hashistack:role",
			Err: ErrInvalidValue}, "is not a known role", known},
		{"unknown_flag", func() Sources {
			s := withUserData("namespace = \"payments\"\n")
			s.Flags = []Flag{{Key: "role", Value: "Nomad-Client", Name: "--role"}}
			return s
		}(), Error{Key: "role", Value: "Nomad-Client", Source: "flag --role",
			Err: ErrInvalidValue}, "is not a known role", known},
		{"tags_and_user_data_differ",
			withTags(map[string]string{"hashistack:role": "vault-server"}),
			Error{Key: "role", Value: "nomad-client", Source: "user-data line 1",
				Err: ErrRoleConflict},
			`differs from role "vault-server" set by tag hashistack:role`,
			"remove one of them or make them agree"},
		{"file_and_flag_differ", func() Sources {
			s := withFile("role = \"consul-server\"\n")
			s.UserData = nil
			s.Flags = []Flag{{Key: "role", Value: "nomad-client", Name: "--role"}}
			return s
		}(), Error{Key: "role", Value: "nomad-client", Source: "flag --role",
			Err: ErrRoleConflict}, `differs from role "consul-server" set by file ` + filePath +
			" line 1", "agree"},
		{"flags_differ", withFlags(
			Flag{Key: "role", Value: "nomad-client", Name: "--role"},
			Flag{Key: "role", Value: "nomad-server", Name: "--set"}),
			Error{Key: "role", Value: "nomad-server", Source: "flag --set role",
				Err: ErrRoleConflict}, `set by user-data line 1`, "agree"},
	})
}

func TestLoadValueErrors(t *testing.T) {
	tag := func(key, value string) Sources {
		return withTags(map[string]string{"hashistack:" + key: value})
	}
	src := func(key string) string { return "tag hashistack:" + key }
	setFlag := func(key, value string) Sources {
		return withFlags(Flag{Key: key, Value: value, Name: "--set"})
	}
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." +
		strings.Repeat("c", 63) + "." + strings.Repeat("d", 62)
	runErrorCases(t, []errorCase{
		{"namespace_missing", withUserData("role = \"nomad-client\"\n"),
			Error{Key: "namespace", Err: ErrMissing}, "is missing",
			"set namespace"},
		{"environment_missing", withUserData("role = \"nomad-client\"\nnamespace = \"a\"\n"),
			Error{Key: "environment", Err: ErrMissing}, "is missing",
			"set environment"},
		{"region_missing", func() Sources {
			s := clientSources()
			s.Instance.Region = ""
			return s
		}(), Error{Key: "region", Err: ErrMissing}, "is missing",
			"set region"},
		{"namespace_upper_case", func() Sources {
			s := withUserData("role = \"nomad-client\"\n")
			s.Tags["hashistack:namespace"] = "Payments"
			return s
		}(), Error{Key: "namespace", Value: "Payments", Source: src("namespace"),
			Err: ErrInvalidValue}, "is not a valid identifier", "lower-case letters"},
		{"environment_underscore", withFlags(Flag{Key: "environment", Value: "pre_prod",
			Name: "--environment"}), Error{Key: "environment", Value: "pre_prod",
			Source: "flag --environment", Err: ErrInvalidValue}, "not a valid identifier",
			"at most 63 characters"},
		{"datacenter_trailing_dash", tag("datacenter", "dc-"),
			Error{Key: "datacenter", Value: "dc-", Source: src("datacenter"),
				Err: ErrInvalidValue}, "not a valid identifier", "starting with a letter"},
		{"region_too_long", tag("region", "r"+strings.Repeat("x", 63)),
			Error{Key: "region", Value: "r" + strings.Repeat("x", 63), Source: src("region"),
				Err: ErrInvalidValue}, "not a valid identifier", "63 characters"},
		{"seal_region_digit_first", tag("seal.region", "1eu"),
			Error{Key: "seal.region", Value: "1eu", Source: src("seal.region"),
				Err: ErrInvalidValue}, "not a valid identifier", "starting with a letter"},
		{"node_name_underscore", tag("node_name", "web_01"),
			Error{Key: "node_name", Value: "web_01", Source: src("node_name"),
				Err: ErrInvalidValue}, "not a valid hostname label", "letters, digits and '-'"},
		{"node_name_missing", func() Sources {
			s := clientSources()
			s.Instance.InstanceID = ""
			return s
		}(), Error{Key: "node_name", Err: ErrMissing}, "is missing",
			"instance id"},
		{"node_class_differs", tag("node_class", "batch"),
			Error{Key: "node_class", Value: "batch", Source: src("node_class"),
				Err: ErrInvalidValue}, `differs from namespace "payments" set by user-data line 2`,
			"remove node_class or set it to the namespace"},
		{"node_class_invalid", tag("node_class", "Batch"),
			Error{Key: "node_class", Value: "Batch", Source: src("node_class"),
				Err: ErrInvalidValue}, "not a valid identifier", "lower-case"},
		{"vault_role_differs", tag("vault.role", "ops"),
			Error{Key: "vault.role", Value: "ops", Source: src("vault.role"),
				Err: ErrInvalidValue}, `differs from namespace "payments"`,
			"remove vault.role or set it to the namespace"},
		{"vault_role_differs_server", withUserData(vaultServerDoc(
			"[seal]\nkms_key_id = \"k\"\n[vault]\nrole = \"payments\"\n")),
			Error{Key: "vault.role", Value: "payments", Source: "user-data line 10",
				Err: ErrInvalidValue}, `differs from namespace "ops"`, "namespace's Vault role"},
		{"join_missing", withUserData("role = \"nomad-client\"\nnamespace = \"a\"\n" +
			"environment = \"prod\"\n"), Error{Key: "join.nomad", Err: ErrMissing}, "is missing", `join.nomad = ["nomad-servers.ops.example.internal"]`},
		{"join_ip", tag("join.consul", "10.0.0.5"),
			Error{Key: "join.consul", Value: "10.0.0.5", Entry: 1, Source: src("join.consul"),
				Err: ErrInvalidValue}, "is an IP address", "DNS name"},
		{"join_ipv6", tag("join.consul", "[fd00::5]"),
			Error{Key: "join.consul", Value: "[fd00::5]", Entry: 1, Source: src("join.consul"),
				Err: ErrInvalidValue}, "is an IP address", "DNS name"},
		{"join_port", tag("join.consul", "a.example,nomad.example:4647"),
			Error{Key: "join.consul", Value: "nomad.example:4647", Entry: 2, Source: src("join.consul"),
				Err: ErrInvalidValue}, "has a port", "remove the port"},
		{"join_upper_case", tag("join.consul", "Nomad.Example"),
			Error{Key: "join.consul", Value: "Nomad.Example", Entry: 1, Source: src("join.consul"),
				Err: ErrInvalidValue}, "not a valid DNS name", "lower-case"},
		{"join_empty_entry", tag("join.consul", "a.example,,b.example"),
			Error{Key: "join.consul", Entry: 2, Source: src("join.consul"), Err: ErrInvalidValue},
			"not a valid DNS name", "lower-case"},
		{"join_too_long", tag("join.consul", long),
			Error{Key: "join.consul", Value: long, Entry: 1, Source: src("join.consul"),
				Err: ErrInvalidValue}, "not a valid DNS name", "253"},
		{"join_numeric_tld", tag("join.consul", "consul.10"),
			Error{Key: "join.consul", Value: "consul.10", Entry: 1, Source: src("join.consul"),
				Err: ErrInvalidValue}, "not a valid DNS name", "DNS name"},
		{"join_cloud_auto_join", withUserData(clientUserData + "consul = [\"provider=aws\"]\n"),
			Error{Key: "join.consul", Value: "provider=aws", Entry: 1, Source: "user-data line 7",
				Err: ErrInvalidValue}, "not a valid DNS name", "DNS name"},
		{"vault_address_no_scheme", tag("vault.address", "vault.example:8200"),
			Error{Key: "vault.address", Value: "vault.example:8200", Source: src("vault.address"),
				Err: ErrInvalidValue}, "not an absolute http or https URL", "https://"},
		{"vault_address_ftp", tag("vault.address", "ftp://vault.example"),
			Error{Key: "vault.address", Value: "ftp://vault.example",
				Source: src("vault.address"), Err: ErrInvalidValue}, "not an absolute", "https://"},
		{"vault_address_query", tag("vault.address", "https://vault.example/?x=1"),
			Error{Key: "vault.address", Value: "https://vault.example/",
				Source: src("vault.address"), Err: ErrInvalidValue}, "query", "remove everything"},
		{"vault_address_user", withFile("[vault]\naddress = \"https://admin:pw@vault.example\"\n"),
			Error{Key: "vault.address", Source: "file " + filePath + " line 2", Err: ErrSecret},
			"value not shown", "remove the user and password"},
		{"vault_auth_path_slashes", withFile("[vault]\nauth_path = \"/aws/\"\n"),
			Error{Key: "vault.auth_path", Value: "/aws/", Source: "file " + filePath + " line 2",
				Err: ErrInvalidValue}, "not a valid mount path", `"aws"`},
		{"vault_auth_path_empty", withFile("[vault]\nauth_path = \"\"\n"),
			Error{Key: "vault.auth_path", Source: "file " + filePath + " line 2",
				Err: ErrInvalidValue}, "not a valid mount path", "mount path"},
		{"seal_key_missing", withUserData(vaultServerDoc("")),
			Error{Key: "seal.kms_key_id", Err: ErrMissing}, "is missing",
			"KMS key"},
		{"seal_endpoint_invalid", func() Sources {
			s := withUserData(vaultServerDoc("[seal]\nkms_key_id = \"k\"\n"))
			s.File = []byte("[seal]\nendpoint = \"kms.example\"\n")
			return s
		}(), Error{Key: "seal.endpoint", Value: "kms.example", Source: "file " + filePath + " line 2",
			Err: ErrInvalidValue}, "not an absolute", "https://kms."},
		{"vault_join_missing", withUserData("role = \"vault-server\"\nnamespace = \"ops\"\n" +
			"environment = \"prod\"\n"), Error{Key: "join.vault", Err: ErrMissing}, "is missing", "join.vault"},
		{"on_failure_invalid", tag("lifecycle.on_failure", "continue"),
			Error{Key: "lifecycle.on_failure", Value: "continue",
				Source: src("lifecycle.on_failure"), Err: ErrInvalidValue},
			"not a failure action", `"abandon" or "hold"`},
		{"hook_invalid", tag("lifecycle.hook", "launch hook"),
			Error{Key: "lifecycle.hook", Value: "launch hook", Source: src("lifecycle.hook"),
				Err: ErrInvalidValue}, "not a valid lifecycle hook name", "255 characters"},
		{"bind_unclosed", tag("network.bind", "{{ GetPrivateIP "),
			Error{Key: "network.bind", Value: "{{ GetPrivateIP ", Source: src("network.bind"),
				Err: ErrInvalidValue}, "not a valid go-sockaddr template", "GetPrivateIP"},
		{"client_unknown_function", tag("network.client", "{{ GetNoSuchIP }}"),
			Error{Key: "network.client", Value: "{{ GetNoSuchIP }}",
				Source: src("network.client"), Err: ErrInvalidValue},
			`function "GetNoSuchIP" not defined`, "go-sockaddr template"},
		{"advertise_bad", tag("network.advertise", "{{ end }}"),
			Error{Key: "network.advertise", Value: "{{ end }}", Source: src("network.advertise"),
				Err: ErrInvalidValue}, "not a valid go-sockaddr template", "template"},
		{"bind_empty", tag("network.bind", ""),
			Error{Key: "network.bind", Source: src("network.bind"), Err: ErrMissing},
			"is empty", "GetPrivateIP"},
		{"dns_server_name", setFlag("dns.server", "dns.example:53"),
			Error{Key: "dns.server", Value: "dns.example:53", Source: "flag --set dns.server",
				Err: ErrInvalidValue}, "not an IP address and port", `"10.0.0.2:53"`},
		{"dns_server_no_port", setFlag("dns.server", "10.0.0.2"),
			Error{Key: "dns.server", Value: "10.0.0.2", Source: "flag --set dns.server",
				Err: ErrInvalidValue}, "not an IP address and port", "[fd00::2]:53"},
		{"dns_server_port_zero", setFlag("dns.server", "10.0.0.2:0"),
			Error{Key: "dns.server", Value: "10.0.0.2:0", Source: "flag --set dns.server",
				Err: ErrInvalidValue}, "not an IP address and port", "system resolver"},
		{"dns_wait_short", tag("dns.wait", "500ms"),
			Error{Key: "dns.wait", Value: "500ms", Source: src("dns.wait"),
				Err: ErrInvalidValue}, "out of range", "from 1s to 10m0s"},
		{"dns_wait_long", withUserData(clientUserData + "[dns]\nwait = \"11m\"\n"),
			Error{Key: "dns.wait", Value: "11m0s", Source: "user-data line 8",
				Err: ErrInvalidValue}, "out of range", "from 1s to 10m0s"},
		{"unit_dir_relative", setFlag("systemd.unit_dir", "etc/systemd/system"),
			Error{Key: "systemd.unit_dir", Value: "etc/systemd/system",
				Source: "flag --set systemd.unit_dir", Err: ErrInvalidValue},
			"not an absolute, clean path", "/etc/systemd/system"},
		{"unit_dir_dot_dot", setFlag("systemd.unit_dir", "/etc/../tmp"),
			Error{Key: "systemd.unit_dir", Value: "/etc/../tmp", Source: "flag --set systemd.unit_dir",
				Err: ErrInvalidValue}, "clean path", `".."`},
		{"nomad_version_short", tag("nomad.version", "1.6"),
			Error{Key: "nomad.version", Value: "1.6", Source: src("nomad.version"),
				Err: ErrInvalidValue}, "not a version", "MAJOR.MINOR.PATCH"},
		{"nomad_version_prefix", tag("nomad.version", "v1.6.2"),
			Error{Key: "nomad.version", Value: "v1.6.2", Source: src("nomad.version"),
				Err: ErrInvalidValue}, "not a version", `"1.6.2"`},
		{"consul_expect_zero", tag("consul.bootstrap_expect", "0"),
			Error{Key: "consul.bootstrap_expect", Value: "0",
				Source: src("consul.bootstrap_expect"), Err: ErrInvalidValue},
			"out of range", "from 1 to 9"},
		{"nomad_expect_ten", withFlags(Flag{Key: "nomad.bootstrap_expect", Value: "10",
			Name: "--set"}), Error{Key: "nomad.bootstrap_expect", Value: "10",
			Source: "flag --set nomad.bootstrap_expect", Err: ErrInvalidValue},
			"out of range", "from 1 to 9"},
		{"denylist_space", tag("nomad.fingerprint_denylist", "env_aws,env aws"),
			Error{Key: "nomad.fingerprint_denylist", Value: "env aws",
				Entry: 2, Source: src("nomad.fingerprint_denylist"), Err: ErrInvalidValue},
			"not a fingerprinter name", `"env_aws"`},
		{"denylist_upper", withFile("[nomad]\nfingerprint_denylist = [\"env_aws\", \"Env_GCE\"]\n"),
			Error{Key: "nomad.fingerprint_denylist", Value: "Env_GCE",
				Entry: 2, Source: "file " + filePath + " line 2", Err: ErrInvalidValue},
			"not a fingerprinter name", "lower-case"},
		{"control_newline", withUserData(clientUserData + "[vault]\nserver_id = \"a\\nb\"\n"),
			Error{Key: "vault.server_id", Value: "a\nb", Source: "user-data line 8",
				Err: ErrInvalidValue}, "control character", "remove newlines"},
		{"control_nul", tag("seal.kms_key_id", "alias/k\x00"),
			Error{Key: "seal.kms_key_id", Value: "alias/k\x00", Source: src("seal.kms_key_id"),
				Err: ErrInvalidValue}, "control character", "NUL"},
		{"control_tab_in_list", tag("join.consul", "a.example\t"),
			Error{Key: "join.consul", Value: "a.example\t", Entry: 1, Source: src("join.consul"),
				Err: ErrInvalidValue}, "control character", "tabs"},
		{"invalid_utf8_flag", withFlags(Flag{Key: "vault.server_id", Value: "\xff",
			Name: "--set"}), Error{Key: "vault.server_id", Value: "\xff",
			Source: "flag --set vault.server_id", Err: ErrInvalidValue}, "invalid UTF-8",
			"control characters"},
	})
}
