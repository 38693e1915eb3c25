package config

import (
	"path"
	"strconv"
	"strings"
)

// Values of vault.tls_source and nomad.vault_mode.
const (
	TLSSourceSecretsManager = "secrets-manager"
	TLSSourceFile           = "file"
	VaultModeIdentity       = "workload-identity"
	VaultModeLegacyToken    = "legacy-token"
)

// checkSecretSources checks where the secrets stage finds each secret.
func checkSecretSources(v *validator) *Error {
	s := v.cfg.Secrets
	mounts := []struct{ key, value string }{
		{"secrets.kv_mount", s.KVMount},
		{"secrets.consul_mount", s.ConsulMount},
		{"secrets.pki_mount", s.PKIMount},
	}
	for _, m := range mounts {
		if !authPathPattern.MatchString(m.value) {
			return v.invalid(m.key, m.value, "is not a valid mount path",
				`use the secrets engine's mount path without leading or trailing '/', such as "secret"`)
		}
	}
	if err := checkVaultTLS(v); err != nil {
		return err
	}
	return checkVaultMode(v)
}

func checkVaultTLS(v *validator) *Error {
	c := v.cfg.Vault
	switch c.TLSSource {
	case TLSSourceSecretsManager, TLSSourceFile:
	default:
		return v.invalid("vault.tls_source", c.TLSSource, "is not a TLS source",
			`use "secrets-manager" or "file"`)
	}
	if c.TLSDir != "" && (!path.IsAbs(c.TLSDir) || path.Clean(c.TLSDir) != c.TLSDir) {
		return v.invalid("vault.tls_dir", c.TLSDir, "is not an absolute clean path",
			`use a directory such as "/etc/vault.d/tls"`)
	}
	if v.cfg.Role != roleVaultServer || c.TLSDisable {
		return nil
	}
	if c.TLSSource == TLSSourceSecretsManager && c.TLSBundle == "" {
		return v.missing("vault.tls_bundle", "set vault.tls_bundle to the name or ARN of the "+
			`Secrets Manager secret holding the server's TLS material, or set vault.tls_source = "file"`)
	}
	if c.TLSSource == TLSSourceFile && c.TLSDir == "" {
		return v.missing("vault.tls_dir", "set vault.tls_dir to the baked directory with "+
			"tls.crt, tls.key and ca.crt")
	}
	return nil
}

// checkVaultMode requires a Nomad that supports the chosen Vault mode:
// workload identities came in Nomad 1.7, and 1.10 removed the legacy token.
func checkVaultMode(v *validator) *Error {
	n := v.cfg.Nomad
	major, minor, known := nomadMinor(n.Version)
	switch n.VaultMode {
	case VaultModeIdentity:
		if known && major == 1 && minor < 7 {
			return v.invalid("nomad.vault_mode", n.VaultMode,
				"needs Nomad 1.7 or later, but nomad.version is "+n.Version,
				`set nomad.vault_mode = "legacy-token" for this Nomad`)
		}
	case VaultModeLegacyToken:
		if !known || major > 1 || minor >= 10 {
			return v.invalid("nomad.vault_mode", n.VaultMode,
				"needs Nomad before 1.10, which nomad.version does not show",
				`set nomad.version to the installed Nomad, or use "workload-identity"`)
		}
	default:
		return v.invalid("nomad.vault_mode", n.VaultMode, "is not a Vault mode",
			`use "workload-identity" or "legacy-token"`)
	}
	return nil
}

// defaultVaultMode returns workload-identity, unless the installed Nomad
// is older than 1.7 and has no workload identities.
func defaultVaultMode(version string) string {
	if major, minor, ok := nomadMinor(version); ok && major == 1 && minor < 7 {
		return VaultModeLegacyToken
	}
	return VaultModeIdentity
}

// nomadMinor returns the major and minor number of a valid version.
func nomadMinor(version string) (major, minor int, ok bool) {
	if !versionPattern.MatchString(version) {
		return 0, 0, false
	}
	parts := strings.SplitN(version, ".", 3)
	major, _ = strconv.Atoi(parts[0])
	minor, _ = strconv.Atoi(parts[1])
	return major, minor, true
}
