package config

import (
	"errors"
	"strings"
	"testing"
)

// Credential-looking test values. None of them is a real credential.
const (
	vaultToken  = "hvs.CAESIJbogusbogusbogusbogusbogus0123456789"
	batchToken  = "hvb.AAAAAQbogusbogusbogusbogus01"
	legacyToken = "s.Abcdefghijklmnopqrstuvwx"
	accessKeyID = "AKIAIOSFODNN7EXAMPLE"
	sessionKey  = "ASIAIOSFODNN7EXAMPLE"
)

func TestLoadSecrets(t *testing.T) {
	secrets := []string{vaultToken, batchToken, legacyToken, accessKeyID, sessionKey,
		"-----BEGIN RSA PRIVATE KEY-----"}
	runErrorCases(t, []errorCase{
		{"user_data_token_key", withUserData(clientUserData + "[vault]\ntoken = \"x\"\n"),
			Error{Key: "vault.token", Source: "user-data line 8 column 1", Err: ErrSecret},
			"looks like a secret", "secrets come from Vault"},
		{"user_data_encrypt_key", withUserData("consul.encrypt = \"x\"\n" + clientUserData),
			Error{Key: "consul.encrypt", Source: "user-data line 1 column 1", Err: ErrSecret},
			"looks like a secret", "IMDS"},
		{"user_data_quoted_gossip_key", withUserData(clientUserData +
			"[consul]\n  \"Gossip-Key\" = \"x\"\n"),
			Error{Key: `consul.Gossip-Key`, Source: "user-data line 8 column 3", Err: ErrSecret},
			"looks like a secret", "remove it"},
		{"user_data_bare_key", withUserData(clientUserData + "[tls]\nkey = \"x\"\n"),
			Error{Key: "tls.key", Source: "user-data line 8 column 1", Err: ErrSecret},
			"looks like a secret", "remove it"},
		{"user_data_inline_password", withUserData(clientUserData +
			"[vault]\nlogin = { user = \"a\", password = \"b\" }\n"),
			Error{Key: "vault.login.password", Source: "user-data line 8 column 23",
				Err: ErrSecret}, "looks like a secret", "remove it"},
		{"user_data_token_value", withUserData(clientUserData +
			"[vault]\nserver_id = \"" + vaultToken + "\"\n"),
			Error{Key: "vault.server_id", Source: "user-data line 8 column 1", Err: ErrSecret},
			"looks like a credential (value not shown)", "secrets come from Vault"},
		{"user_data_unknown_key_value", withUserData(clientUserData +
			"[misc]\nnote = \"" + accessKeyID + "\"\n"),
			Error{Key: "misc.note", Source: "user-data line 8 column 1", Err: ErrSecret},
			"looks like a credential", "remove it"},
		{"user_data_list_value", withUserData(clientUserData +
			"consul = [\"a.example\", \"" + legacyToken + "\"]\n"),
			Error{Key: "join.consul", Source: "user-data line 7 column 1", Err: ErrSecret},
			"looks like a credential", "remove it"},
		{"user_data_comment", withUserData(clientUserData + "# old: " + batchToken + "\n"),
			Error{Source: "user-data line 7", Err: ErrSecret},
			"contains text that looks like a credential", "remove it"},
		{"user_data_syntax_error", withUserData("role = " + accessKeyID + "\n"),
			Error{Source: "user-data line 1", Err: ErrSecret},
			"contains text that looks like a credential", "remove it"},
		{"user_data_private_key", withUserData(clientUserData + "[vault]\nserver_id = '''\n" +
			"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n'''\n"),
			Error{Key: "vault.server_id", Source: "user-data line 8 column 1", Err: ErrSecret},
			"looks like a credential", "remove it"},
		{"tag_secret_key", withTags(map[string]string{"hashistack:vault.token": "x"}),
			Error{Key: "vault.token", Source: "tag hashistack:vault.token", Err: ErrSecret},
			"looks like a secret", "delete the tag"},
		{"tag_secret_before_unknown", withTags(map[string]string{
			"hashistack:aaa": "x", "hashistack:consul.gossip_key": "x"}),
			Error{Key: "consul.gossip_key", Source: "tag hashistack:consul.gossip_key",
				Err: ErrSecret}, "looks like a secret", "delete the tag"},
		{"tag_credential_value", withTags(map[string]string{
			"hashistack:vault.server_id": "id " + sessionKey}),
			Error{Key: "vault.server_id", Source: "tag hashistack:vault.server_id",
				Err: ErrSecret}, "value not shown", "delete the tag"},
	})
	// No case above may show a secret anywhere in its error.
	for _, doc := range []string{
		"role = " + accessKeyID + "\n",
		"role = \"" + vaultToken + "\"\n",
		"role = '" + legacyToken + "\n",
	} {
		_, _, err := Load(withUserData(doc))
		for _, secret := range secrets {
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
		}
	}
}

func TestLoadWithholdsCredentials(t *testing.T) {
	tests := []struct {
		name    string
		sources Sources
	}{
		{"file_identifier", withFile("datacenter = \"" + vaultToken + "\"\n")},
		{"flag_identifier", withFlags(Flag{Key: "datacenter", Value: accessKeyID,
			Name: "--set"})},
		{"flag_role_conflict", withFlags(Flag{Key: "role", Value: legacyToken, Name: "--role"})},
		{"file_template", withFile("network.bind = \"{{ " + accessKeyID + " }}\"\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.sources)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load error = %v, want *config.Error", err)
			}
			if e.Value != "" {
				t.Errorf("Value = %q, want it withheld", e.Value)
			}
			for _, secret := range []string{vaultToken, accessKeyID, legacyToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a credential", err)
				}
			}
		})
	}
}

func TestSyntaxErrorRedacted(t *testing.T) {
	// The file is not checked for secrets, but a decoder message that
	// quotes a credential is still redacted.
	_, _, err := Load(withFile("role = " + accessKeyID + "\n"))
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("Load error = %v, want ErrSyntax", err)
	}
	if strings.Contains(err.Error(), accessKeyID) {
		t.Errorf("error %q shows the access key id", err)
	}
}

func TestIsSecretKeyName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"token", true},
		{"acl_token", true},
		{"Vault-Token", true},
		{"secret_id", true},
		{"password", true},
		{"db_passwd", true},
		{"encrypt", true},
		{"gossip_key", true},
		{"api_key", true},
		{"aws_access_key", true},
		{"aws_secret_key", true},
		{"private_key", true},
		{"credentials", true},
		{"key", true},
		{"kms_key_id", false},
		{"server_id", false},
		{"auth_path", false},
		{"tls_disable", false},
		{"bootstrap_expect", false},
		{"fingerprint_denylist", false},
		{"address", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := isSecretKeyName(tc.name); got != tc.want {
				t.Errorf("isSecretKeyName(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
	for _, k := range Keys() {
		parts := strings.Split(k.Name, ".")
		if isSecretKeyName(parts[len(parts)-1]) {
			t.Errorf("known key %s looks like a secret", k.Name)
		}
	}
}

func TestLooksLikeCredential(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  bool
	}{
		{"service_token", vaultToken, true},
		{"batch_token", batchToken, true},
		{"recovery_token", "hvr.abcdefghijklmnopqrstuvwxyz", true},
		{"legacy_token", legacyToken, true},
		{"token_in_text", "use " + vaultToken + " here", true},
		{"token_in_url", "https://x.example/?t=" + vaultToken, true},
		{"access_key_id", accessKeyID, true},
		{"session_key_id", sessionKey, true},
		{"pem_private_key", "-----BEGIN PRIVATE KEY-----\nMII", true},
		{"host_name_hvs", "hvs.example.internal", false},
		{"short_hvs", "hvs.abc", false},
		{"legacy_too_short", "s.abc", false},
		{"legacy_too_long", "s.Abcdefghijklmnopqrstuvwxyz", false},
		{"dotted_s_label", "vault.s.example", false},
		{"akia_too_short", "AKIA1234", false},
		{"akia_inside_word", "XAKIAIOSFODNN7EXAMPLE", false},
		{"pem_certificate", "-----BEGIN CERTIFICATE-----", false},
		{"kms_alias", "alias/payments-vault-unseal", false},
		{"kms_arn", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := looksLikeCredential(tc.value); got != tc.want {
				t.Errorf("looksLikeCredential(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}
