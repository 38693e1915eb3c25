package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadUnknownKeys(t *testing.T) {
	fileSource := "file " + filePath
	runErrorCases(t, []errorCase{
		{"file_table_key", withFile("# AMI defaults\n[vault]\naddr = \"https://v.example\"\n"),
			Error{Key: "vault.addr", Source: fileSource + " line 3 column 1",
				Err: ErrUnknownKey}, "is not a known key",
			"known keys in [vault] are address, auth_path, server_id, role, tls_disable"},
		{"file_indented", withFile("[dns]\n  wait = \"1m\"\n\t  colour = \"blue\"\n"),
			Error{Key: "dns.colour", Source: fileSource + " line 3 column 4",
				Err: ErrUnknownKey}, "is not a known key", "known keys in [dns] are server, wait"},
		{"file_top_level", withFile("environment = \"prod\"\nstage = \"dev\"\n"),
			Error{Key: "stage", Source: fileSource + " line 2 column 1",
				Err: ErrUnknownKey}, "is not a known key", "known top-level keys and tables are role"},
		{"user_data_unknown_table", withUserData(clientUserData +
			"\n[consul_template]\nwait = \"1s\"\n"),
			Error{Key: "consul_template", Source: "user-data line 8 column 2",
				Err: ErrUnknownKey}, "is not a known key", "join, network"},
		{"user_data_dotted", withUserData("lifecycle.hook_name = \"x\"\n" + clientUserData),
			Error{Key: "lifecycle.hook_name", Source: "user-data line 1 column 1",
				Err: ErrUnknownKey}, "is not a known key", "hook, on_failure"},
		{"user_data_after_multiline_string", withUserData(clientUserData +
			"[vault]\nserver_id = \"\"\"\nx\n\"\"\"\n  \"quoted key\" = 1\n"),
			Error{Key: `vault."quoted key"`, Source: "user-data line 11 column 3",
				Err: ErrUnknownKey}, "is not a known key", "known keys in [vault]"},
		{"user_data_inline_table", withUserData(clientUserData +
			"[seal]\nkms = { key_ident = \"k\" }\n"),
			Error{Key: "seal.kms", Source: "user-data line 8 column 1", Err: ErrUnknownKey},
			"is not a known key", "kms_key_id"},
		{"user_data_unicode_column", withUserData(clientUserData +
			"[vault]\nserver_id = \"é\"; x = 1\n"),
			Error{Source: "user-data line 8 column 16", Err: ErrSyntax},
			"is not valid TOML", "quote strings"},
		{"tag", withTags(map[string]string{"hashistack:colour": "blue"}),
			Error{Key: "colour", Source: "tag hashistack:colour", Err: ErrUnknownKey},
			"is not a known key", "known top-level keys"},
		{"tag_table", withTags(map[string]string{"hashistack:vault": "x"}),
			Error{Key: "vault", Source: "tag hashistack:vault", Err: ErrUnknownKey},
			"is not a known key", "known top-level keys"},
		{"tag_case", withTags(map[string]string{"hashistack:Role": "nomad-client"}),
			Error{Key: "Role", Source: "tag hashistack:Role", Err: ErrUnknownKey},
			"is not a known key", "role"},
		{"flag", withFlags(Flag{Key: "join.boundary", Value: "x", Name: "--set"}),
			Error{Key: "join.boundary", Source: "flag --set", Err: ErrUnknownKey},
			"is not a known key", "known keys in [join] are consul, nomad, vault"},
	})
}

func TestLoadTypeErrors(t *testing.T) {
	runErrorCases(t, []errorCase{
		{"quoted_integer", withUserData(clientUserData + "[consul]\nbootstrap_expect = \"3\"\n"),
			Error{Key: "consul.bootstrap_expect", Source: "user-data line 8",
				Err: ErrInvalidValue}, "must be an integer, not a string", "without quotes"},
		{"string_for_list", withUserData("role = \"nomad-client\"\n" +
			"join.nomad = \"a.example\"\n"),
			Error{Key: "join.nomad", Source: "user-data line 2", Err: ErrInvalidValue},
			"must be a list of strings, not a string", `["a.example.internal"]`},
		{"list_of_integers", withFile("[nomad]\nfingerprint_denylist = [1, 2]\n"),
			Error{Key: "nomad.fingerprint_denylist", Source: "file " + filePath + " line 2",
				Err: ErrInvalidValue}, "must be a list of strings, not an array", "quoted"},
		{"string_for_bool", withFile("vault.tls_disable = \"yes\"\n"),
			Error{Key: "vault.tls_disable", Source: "file " + filePath + " line 1",
				Err: ErrInvalidValue}, "must be a boolean, not a string", "true or false"},
		{"integer_for_duration", withUserData(clientUserData + "[dns]\nwait = 120\n"),
			Error{Key: "dns.wait", Source: "user-data line 8", Err: ErrInvalidValue},
			"must be a duration, not an integer", `"90s"`},
		{"bad_duration", withUserData(clientUserData + "[dns]\nwait = \"soon\"\n"),
			Error{Key: "dns.wait", Value: "soon", Source: "user-data line 8",
				Err: ErrInvalidValue}, "is not a valid duration", `"2m"`},
		{"table_as_string", withUserData("vault = \"https://v.example\"\n" + clientUserData),
			Error{Key: "vault", Source: "user-data line 1", Err: ErrInvalidValue},
			"must be a table, not a string", "[vault] header"},
		{"array_of_tables", withUserData(clientUserData + "[[seal]]\nkms_key_id = \"k\"\n"),
			Error{Key: "seal", Source: "user-data line 7", Err: ErrInvalidValue},
			"must be a table, not an array of tables", "[seal] header"},
		{"string_as_table", withUserData(clientUserData + "[environment]\nname = \"x\"\n"),
			Error{Source: "user-data line 7 column 2", Err: ErrSyntax},
			"Key 'environment' has already been defined", "correct the syntax"},
		{"tag_integer", withTags(map[string]string{"hashistack:consul.bootstrap_expect": "three"}),
			Error{Key: "consul.bootstrap_expect", Value: "three",
				Source: "tag hashistack:consul.bootstrap_expect", Err: ErrInvalidValue},
			"is not an integer", "whole number"},
		{"tag_duration", withTags(map[string]string{"hashistack:dns.wait": "2 minutes"}),
			Error{Key: "dns.wait", Value: "2 minutes", Source: "tag hashistack:dns.wait",
				Err: ErrInvalidValue}, "is not a duration", `"90s"`},
		{"flag_bool", withFlags(Flag{Key: "vault.tls_disable", Value: "yes", Name: "--set"}),
			Error{Key: "vault.tls_disable", Value: "yes", Source: "flag --set vault.tls_disable",
				Err: ErrInvalidValue}, "is not a boolean", "true or false"},
		{"syntax_unquoted", withUserData("role = nomad-client\n"),
			Error{Source: "user-data line 1 column 8", Err: ErrSyntax},
			"is not valid TOML", `namespace = "payments"`},
		{"syntax_file_duplicate", withFile("role = \"a\"\nrole = \"b\"\n"),
			Error{Source: "file " + filePath + " line 2 column 1", Err: ErrSyntax},
			"already", "correct the syntax"},
	})
}

func TestLoadTagPrefix(t *testing.T) {
	t.Run("from_file", func(t *testing.T) {
		s := withUserData("role = \"nomad-client\"\n")
		s.File = []byte("[tags]\nprefix = \"team:\"\n")
		s.Tags = map[string]string{
			"team:namespace": "payments", "team:environment": "prod",
			"team:join.nomad": "n.example", "hashistack:colour": "ignored",
		}
		cfg, prov := mustLoad(t, s)
		if cfg.Namespace != "payments" || prov["namespace"] != "tag team:namespace" {
			t.Errorf("namespace = %q from %q, want payments from tag team:namespace",
				cfg.Namespace, prov["namespace"])
		}
		if want := "file " + filePath + " line 2"; prov["tags.prefix"] != want {
			t.Errorf("provenance of tags.prefix = %q, want %q", prov["tags.prefix"], want)
		}
	})
	t.Run("flag_over_file", func(t *testing.T) {
		s := withFile("[tags]\nprefix = \"team:\"\n")
		s.Flags = []Flag{{Key: "tags.prefix", Value: "ops:", Name: "--tag-prefix"}}
		s.Tags = map[string]string{"ops:lifecycle.hook": "launch", "team:colour": "ignored"}
		cfg, prov := mustLoad(t, s)
		if cfg.Lifecycle.Hook != "launch" || prov["lifecycle.hook"] != "tag ops:lifecycle.hook" {
			t.Errorf("lifecycle.hook = %q from %q, want launch from tag ops:lifecycle.hook",
				cfg.Lifecycle.Hook, prov["lifecycle.hook"])
		}
	})
	runErrorCases(t, []errorCase{
		{"in_user_data", withUserData(clientUserData + "[tags]\nprefix = \"x:\"\n"),
			Error{Key: "tags.prefix", Source: "user-data line 8", Err: ErrRestrictedKey},
			"can be set only in the configuration file or with a flag", "remove it here"},
		{"in_tag", withTags(map[string]string{"hashistack:tags.prefix": "x:"}),
			Error{Key: "tags.prefix", Source: "tag hashistack:tags.prefix",
				Err: ErrRestrictedKey}, "can be set only", "/etc/bootstrap/bootstrap.toml"},
		{"empty", withFlags(Flag{Key: "tags.prefix", Value: "", Name: "--tag-prefix"}),
			Error{Key: "tags.prefix", Source: "flag --tag-prefix tags.prefix",
				Err: ErrInvalidValue}, "is empty", `"hashistack:"`},
		{"aws_reserved", withFile("tags.prefix = \"AWS:x:\"\n"),
			Error{Key: "tags.prefix", Value: "AWS:x:", Source: "file " + filePath + " line 1",
				Err: ErrInvalidValue}, "reserves", "short prefix"},
		{"too_long", withFile("tags.prefix = \"" + strings.Repeat("p", 128) + "\"\n"),
			Error{Key: "tags.prefix", Value: strings.Repeat("p", 128),
				Source: "file " + filePath + " line 1", Err: ErrInvalidValue},
			"128 characters", "short prefix"},
	})
}

// TestLoadHostileValues checks that free-text values pass through unchanged
// however hostile they are to a config renderer: quoting them is the
// renderer's job.
func TestLoadHostileValues(t *testing.T) {
	hostile := []string{
		`x" } evil { "`,
		`$env("HOME") %{ if true } $ {x} {{ .x }}`,
		`back\slash \" \n`,
		"'single' `back` $dollar #hash //comment /*c*/",
		"ünïcødé ☃ \u202e reversed",
		"= [ ] { } , ; : .",
	}
	for _, value := range hostile {
		s := withTags(map[string]string{
			"hashistack:vault.server_id":   value,
			"hashistack:seal.kms_key_id":   value,
			"hashistack:join.consul":       "a.example",
			"hashistack:lifecycle.hook":    "launch/hook_1",
			"hashistack:network.advertise": "{{ GetInterfaceIP \"eth0\" }}",
		})
		cfg, prov := mustLoad(t, s)
		got := []string{cfg.Vault.ServerID, cfg.Seal.KMSKeyID}
		if diff := cmp.Diff([]string{value, value}, got); diff != "" {
			t.Errorf("free text (-want +got):\n%s", diff)
		}
		if prov["vault.server_id"] != "tag hashistack:vault.server_id" {
			t.Errorf("provenance of vault.server_id = %q", prov["vault.server_id"])
		}
	}
}
