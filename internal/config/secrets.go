package config

import (
	"regexp"
	"strings"
)

// Any process on the host can read user-data and instance tags through
// IMDS, and they stay in the launch template and the console, so a secret
// must never arrive through them. Secrets come from Vault.

// secretKeyWords are the words that make a key name look like a secret
// when its last segment contains one of them, in lower case with '-' read
// as '_'.
var secretKeyWords = []string{
	"token", "secret", "password", "passwd", "passphrase", "credential",
	"private_key", "privatekey", "encrypt", "gossip_key", "api_key", "apikey",
	"access_key", "accesskey", "secret_key", "signing_key", "auth_key",
}

// isSecretKeyName reports whether the last segment of a key looks like it
// names a secret, such as "token", "gossip_key" or a bare "key". No key of
// the configuration matches, so a match is never a false positive on a
// known key.
func isSecretKeyName(segment string) bool {
	name := strings.ReplaceAll(strings.ToLower(segment), "-", "_")
	if name == "key" {
		return true
	}
	for _, w := range secretKeyWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// credentialPattern matches text that looks like a credential: a Vault
// token (hvs., hvb. or hvr. and at least 20 characters, or a legacy "s."
// token of 24 characters), an AWS access key id (AKIA or ASIA and 16
// characters) or the start of a PEM private key. The boundaries keep host
// names such as hvs.example.internal from matching.
var credentialPattern = regexp.MustCompile(
	`(?:^|[^A-Za-z0-9_.-])hv[sbr]\.[A-Za-z0-9_-]{20,}` +
		`|(?:^|[^A-Za-z0-9_.-])s\.[A-Za-z0-9]{24}(?:$|[^A-Za-z0-9])` +
		`|(?:^|[^A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?:$|[^A-Z0-9])` +
		`|-----BEGIN [A-Z ]*PRIVATE KEY-----`)

// looksLikeCredential reports whether s contains credential-looking text.
//
// NOTE: only credentials with a recognisable shape are caught. A Consul
// gossip key or an AWS secret access key is random base64 without a marker,
// so under an innocent key name it passes this check.
func looksLikeCredential(s string) bool {
	return credentialPattern.MatchString(s)
}

// redactCredentials replaces credential-looking text in s, so that a
// decoder message that quotes the input can be shown.
func redactCredentials(s string) string {
	return credentialPattern.ReplaceAllString(s, " [credential not shown]")
}

// secretFix is the fix for every secret found in user-data or tags.
const secretFix = "remove it, because any process on the host can read user-data and " +
	"tags through IMDS: secrets come from Vault"
