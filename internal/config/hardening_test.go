package config

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadRestrictedKeys(t *testing.T) {
	const fix = "set it in /etc/bootstrap/bootstrap.toml, which the bake writes"
	userData := func(extra string) Sources { return withUserData(clientUserData + extra) }
	runErrorCases(t, []errorCase{
		{"tls_disable_tag", withTags(map[string]string{"hashistack:vault.tls_disable": "true"}),
			Error{Key: "vault.tls_disable", Source: "tag hashistack:vault.tls_disable",
				Err: ErrRestrictedKey}, "turns off TLS", fix},
		{"dns_server_tag", withTags(map[string]string{"hashistack:dns.server": "10.9.9.9:53"}),
			Error{Key: "dns.server", Source: "tag hashistack:dns.server", Err: ErrRestrictedKey},
			"can be set only in the configuration file or with a flag", fix},
		{"seal_endpoint_tag", withTags(map[string]string{"hashistack:seal.endpoint": "https://kms.example"}),
			Error{Key: "seal.endpoint", Source: "tag hashistack:seal.endpoint",
				Err: ErrRestrictedKey}, "unseal", fix},
		{"unit_dir_tag", withTags(map[string]string{"hashistack:systemd.unit_dir": "/tmp/units"}),
			Error{Key: "systemd.unit_dir", Source: "tag hashistack:systemd.unit_dir",
				Err: ErrRestrictedKey}, "unit files", fix},
		{"tls_disable_user_data", userData("[vault]\ntls_disable = true\n"),
			Error{Key: "vault.tls_disable", Source: "user-data line 8", Err: ErrRestrictedKey},
			"turns off TLS", fix},
		{"dns_server_user_data", userData("[dns]\nserver = \"10.9.9.9:53\"\n"),
			Error{Key: "dns.server", Source: "user-data line 8", Err: ErrRestrictedKey},
			"join names", fix},
		{"seal_endpoint_user_data", userData("[seal]\nendpoint = \"https://kms.example\"\n"),
			Error{Key: "seal.endpoint", Source: "user-data line 8", Err: ErrRestrictedKey},
			"unseal", fix},
		{"unit_dir_user_data", userData("[systemd]\nunit_dir = \"/tmp/units\"\n"),
			Error{Key: "systemd.unit_dir", Source: "user-data line 8", Err: ErrRestrictedKey},
			"unit files", fix},
		{"kv_mount_tag", withTags(map[string]string{"hashistack:secrets.kv_mount": "kv-ops/data/ops"}),
			Error{Key: "secrets.kv_mount", Source: "tag hashistack:secrets.kv_mount",
				Err: ErrRestrictedKey}, "Vault mount", fix},
		{"auth_path_tag", withTags(map[string]string{"hashistack:vault.auth_path": "aws-ops"}),
			Error{Key: "vault.auth_path", Source: "tag hashistack:vault.auth_path",
				Err: ErrRestrictedKey}, "auth method", fix},
	})
}

func TestLoadRestrictedKeysFromFile(t *testing.T) {
	s := withFile("[vault]\ntls_disable = true\n[dns]\nserver = \"10.9.9.9:53\"\n" +
		"[seal]\nendpoint = \"https://kms.example\"\n[systemd]\nunit_dir = \"/run/units\"\n")
	cfg, prov := mustLoad(t, s)
	if !cfg.Vault.TLSDisable || cfg.DNS.Server != "10.9.9.9:53" ||
		cfg.Seal.Endpoint != "https://kms.example" || cfg.Systemd.UnitDir != "/run/units" {
		t.Errorf("restricted keys from the file not applied: %+v", cfg)
	}
	if want := "file " + filePath + " line 2"; prov["vault.tls_disable"] != want {
		t.Errorf("provenance of vault.tls_disable = %q, want %q", prov["vault.tls_disable"], want)
	}
	s = withFlags(Flag{Key: "dns.server", Value: "127.0.0.1:5353", Name: "--set"})
	if cfg, _ := mustLoad(t, s); cfg.DNS.Server != "127.0.0.1:5353" {
		t.Errorf("dns.server = %q from a flag, want 127.0.0.1:5353", cfg.DNS.Server)
	}
}

func TestLoadLoopbackOnly(t *testing.T) {
	tlsOff := "[vault]\ntls_disable = true\n"
	runErrorCases(t, []errorCase{
		{"tls_disable_public_bind", func() Sources {
			s := withFile(tlsOff)
			s.Tags["hashistack:network.bind"] = "10.1.2.3"
			return s
		}(), Error{Key: "vault.tls_disable", Value: "true", Source: "file " + filePath + " line 2",
			Err: ErrInvalidValue}, `network.bind "10.1.2.3" set by tag hashistack:network.bind ` +
			"is not a loopback address", "vault.tls_disable = false"},
		{"http_address_remote", withTags(map[string]string{
			"hashistack:vault.address": "http://vault.example:8200"}),
			Error{Key: "vault.address", Value: "http://vault.example:8200",
				Source: "tag hashistack:vault.address", Err: ErrInvalidValue},
			"uses http on a host that is not loopback", "use https"},
		{"http_address_private_ip", withTags(map[string]string{
			"hashistack:vault.address": "http://10.0.0.7:8200"}),
			Error{Key: "vault.address", Value: "http://10.0.0.7:8200",
				Source: "tag hashistack:vault.address", Err: ErrInvalidValue},
			"not loopback", "127.0.0.1"},
	})
	accepted := []struct {
		name string
		s    Sources
	}{
		{"tls_disable_loopback_bind", func() Sources {
			s := withFile(tlsOff + "[network]\nbind = \"127.0.0.1\"\n")
			return s
		}()},
		// A template is evaluated only by the render stage.
		{"tls_disable_template_bind", withFile(tlsOff)},
		{"http_ipv4_loopback", withTags(map[string]string{"hashistack:vault.address": "http://127.0.0.1:8200"})},
		{"http_ipv6_loopback", withTags(map[string]string{"hashistack:vault.address": "http://[::1]:8200"})},
		{"http_localhost", withTags(map[string]string{"hashistack:vault.address": "http://localhost:8200"})},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			mustLoad(t, tc.s)
		})
	}
}

func TestLoadHidesURLQuery(t *testing.T) {
	const secret = "Sup3r"
	tests := []struct {
		name string
		s    Sources
	}{
		{"tag_query", withTags(map[string]string{
			"hashistack:vault.address": "https://vault.example:8200/?token=" + secret})},
		{"file_fragment", withFile("[vault]\naddress = \"https://vault.example:8200/#" + secret + "\"\n")},
		{"unparsable_query", withTags(map[string]string{
			"hashistack:vault.address": "https://vault.example:8200/%zz?token=" + secret})},
		{"unparsable_user", withTags(map[string]string{
			"hashistack:vault.address": "https://admin:" + secret + "%zz@vault.example:8200/"})},
		{"ftp_user", withTags(map[string]string{
			"hashistack:vault.address": "ftp://admin:" + secret + "@vault.example/"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.s)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
			var e *Error
			if errors.As(err, &e) && strings.Contains(e.Value, secret) {
				t.Errorf("Error.Value %q holds the secret", e.Value)
			}
		})
	}
}

func TestLoadCredentialOnFlag(t *testing.T) {
	const token = "hvs.CAESIJ1xY2example0token0value"
	_, _, err := Load(withFlags(Flag{Key: "vault.server_id", Value: token, Name: "--set"}))
	if !errors.Is(err, ErrSecret) {
		t.Fatalf("Load error = %v, want ErrSecret", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q shows the credential", err)
	}
	if !strings.Contains(err.Error(), "arguments") {
		t.Errorf("error %q does not say why flags are not safe", err)
	}
}

func TestLoadRejectsInterpolation(t *testing.T) {
	doc := `role = "vault-server"
namespace = "ops"
environment = "prod"

[seal]
region = "eu-west-1"
kms_key_id = "alias/${foo}"

[join]
vault = ["vault-servers.ops.example.internal"]
`
	_, _, err := Load(withUserData(doc))
	want := `user-data line 7: seal.kms_key_id "alias/${foo}" contains "${", ` +
		"which HCL v1 cannot escape: remove it"
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v\nwant %s", err, want)
	}
	runErrorCases(t, []errorCase{
		{"list_entry", withUserData(clientUserData + "[nomad]\nfingerprint_denylist = [\"env_aws\", \"x${y}\"]\n"),
			Error{Key: "nomad.fingerprint_denylist", Value: "x${y}", Entry: 2,
				Source: "user-data line 8", Err: ErrInvalidValue}, `contains "${"`, "remove it"},
		{"tag", withTags(map[string]string{"hashistack:vault.server_id": "${env.HOME}"}),
			Error{Key: "vault.server_id", Value: "${env.HOME}",
				Source: "tag hashistack:vault.server_id", Err: ErrInvalidValue}, "HCL v1", "remove it"},
	})
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name    string
		s       Sources
		want    []string
		notWant []string
	}{
		{"empty_list_entry", withUserData(strings.Replace(clientUserData,
			"nomad = [", "consul = [\"\"]\nnomad = [", 1)),
			[]string{`user-data line 6: join.consul entry 1 "" is not a valid DNS name`}, nil},
		{"second_entry", withTags(map[string]string{"hashistack:join.consul": "a.example,B"}),
			[]string{`join.consul entry 2 "B" is not a valid DNS name`}, nil},
		{"long_value", withTags(map[string]string{
			"hashistack:vault.server_id": "x\n" + strings.Repeat("y", 4094)}),
			[]string{"(cut, 4096 characters in all)"}, []string{strings.Repeat("y", 101)}},
		{"flag_key_once", withFlags(Flag{Key: "dns.wait", Value: "45m", Name: "--set"}),
			[]string{`flag --set dns.wait: "45m0s" is out of range`}, []string{"dns.wait dns.wait"}},
		{"role_missing", withUserData("namespace = \"payments\"\n"),
			[]string{"role is missing from every source", "user-data", "tag hashistack:role", "--role"},
			[]string{"default:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.s)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			for _, part := range tc.notWant {
				if strings.Contains(err.Error(), part) {
					t.Errorf("error %q contains %q", err, part)
				}
			}
		})
	}
}

func TestLoadDNSWaitLimit(t *testing.T) {
	flag := func(value string) Sources {
		return withFlags(Flag{Key: "dns.wait", Value: value, Name: "--set"})
	}
	if cfg, _ := mustLoad(t, flag("10m")); cfg.DNS.Wait.Minutes() != 10 {
		t.Errorf("dns.wait = %s, want 10m", cfg.DNS.Wait)
	}
	_, _, err := Load(flag("10m1s"))
	if !errors.Is(err, ErrInvalidValue) {
		t.Errorf("Load error = %v, want ErrInvalidValue for dns.wait above the units stage's 10m", err)
	}
}
