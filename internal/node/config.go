package node

import "time"

// Config is the effective configuration of the node: built-in defaults
// overlaid by the AMI's bootstrap.toml, instance tags, user-data and flags,
// in that order. Field names follow the TOML keys.
type Config struct {
	Role        string `toml:"role" json:"role"`
	Namespace   string `toml:"namespace" json:"namespace"`
	Datacenter  string `toml:"datacenter" json:"datacenter"`
	Environment string `toml:"environment" json:"environment"`
	// Region defaults to the region of the instance identity document.
	Region string `toml:"region" json:"region"`
	// NodeName defaults to the instance id.
	NodeName string `toml:"node_name" json:"node_name"`
	// NodeClass is the Nomad node class of a client. It defaults to, and
	// must equal, Namespace.
	NodeClass string `toml:"node_class" json:"node_class"`

	Tags      TagsConfig      `toml:"tags" json:"tags"`
	Join      JoinConfig      `toml:"join" json:"join"`
	Network   NetworkConfig   `toml:"network" json:"network"`
	DNS       DNSConfig       `toml:"dns" json:"dns"`
	Consul    ConsulConfig    `toml:"consul" json:"consul"`
	Vault     VaultConfig     `toml:"vault" json:"vault"`
	Secrets   SecretsConfig   `toml:"secrets" json:"secrets"`
	Seal      SealConfig      `toml:"seal" json:"seal"`
	Nomad     NomadConfig     `toml:"nomad" json:"nomad"`
	Lifecycle LifecycleConfig `toml:"lifecycle" json:"lifecycle"`
	Systemd   SystemdConfig   `toml:"systemd" json:"systemd"`
}

// TagsConfig selects which instance tags are configuration.
type TagsConfig struct {
	// Prefix is stripped from tag keys; tags without it are not read.
	Prefix string `toml:"prefix" json:"prefix"`
}

// JoinConfig lists the DNS names each agent joins through retry_join.
type JoinConfig struct {
	Consul []string `toml:"consul" json:"consul"`
	Nomad  []string `toml:"nomad" json:"nomad"`
	Vault  []string `toml:"vault" json:"vault"`
}

// NetworkConfig chooses the addresses the agents bind to and advertise.
// Both are go-sockaddr templates, such as "{{ GetPrivateIP }}", evaluated by
// the agent at render time; the configs receive the resulting address.
type NetworkConfig struct {
	Bind      string `toml:"bind" json:"bind"`
	Advertise string `toml:"advertise" json:"advertise"`
	// Client is the address the agents' HTTP APIs listen on.
	Client string `toml:"client" json:"client"`
}

// ConsulConfig holds Consul server settings.
type ConsulConfig struct {
	// BootstrapExpect is the number of servers that elect the first leader.
	BootstrapExpect int `toml:"bootstrap_expect" json:"bootstrap_expect"`
}

// DNSConfig controls the pre-flight check that retry_join names resolve.
type DNSConfig struct {
	// Server is a "host:port" DNS server to ask; empty means the system
	// resolver.
	Server string `toml:"server" json:"server"`
	// Wait is how long to wait for every name to resolve.
	Wait Duration `toml:"wait" json:"wait"`
}

// VaultConfig locates Vault and the AWS auth method the node logs in with.
type VaultConfig struct {
	Address  string `toml:"address" json:"address"`
	AuthPath string `toml:"auth_path" json:"auth_path"`
	ServerID string `toml:"server_id" json:"server_id"`
	// Role is the Vault AWS auth role. It defaults to, and must equal,
	// Namespace.
	Role string `toml:"role" json:"role"`
	// TLSDisable turns TLS off on a Vault server's listener. It exists for
	// test clusters on loopback only.
	TLSDisable bool `toml:"tls_disable" json:"tls_disable"`
	// STSRegion is the region whose STS endpoint the login request is
	// signed for. It defaults to Region.
	STSRegion string `toml:"sts_region" json:"sts_region"`
	// TLSSource is where a Vault server's certificate, key and CA come
	// from: "secrets-manager" or "file".
	TLSSource string `toml:"tls_source" json:"tls_source"`
	// TLSBundle names the AWS Secrets Manager secret (name or ARN) that
	// holds a Vault server's TLS material as JSON.
	TLSBundle string `toml:"tls_bundle" json:"tls_bundle"`
	// TLSDir is the baked directory holding tls.crt, tls.key and ca.crt,
	// read when TLSSource is "file".
	TLSDir string `toml:"tls_dir" json:"tls_dir"`
}

// SecretsConfig locates the secrets engines, which differ per environment.
// Paths in the role files are below these mounts.
type SecretsConfig struct {
	KVMount     string `toml:"kv_mount" json:"kv_mount"`
	ConsulMount string `toml:"consul_mount" json:"consul_mount"`
	PKIMount    string `toml:"pki_mount" json:"pki_mount"`
}

// SealConfig configures Vault's awskms auto-unseal.
type SealConfig struct {
	KMSKeyID string `toml:"kms_key_id" json:"kms_key_id"`
	Region   string `toml:"region" json:"region"`
	Endpoint string `toml:"endpoint" json:"endpoint"`
}

// NomadConfig holds settings that depend on the installed Nomad.
type NomadConfig struct {
	// Version is the Nomad version the bake installed, such as "1.6.2".
	Version string `toml:"version" json:"version"`
	// BootstrapExpect is the number of servers that elect the first leader.
	BootstrapExpect int `toml:"bootstrap_expect" json:"bootstrap_expect"`
	// FingerprintDenylist names client fingerprinters to turn off, such as
	// "env_aws"; test configs turn off every cloud fingerprinter.
	FingerprintDenylist []string `toml:"fingerprint_denylist" json:"fingerprint_denylist"`
	// VaultMode is how a Nomad server reaches Vault: "workload-identity",
	// or "legacy-token" (a child token of the namespace's policies), which
	// only Nomad before 1.10 accepts.
	VaultMode string `toml:"vault_mode" json:"vault_mode"`
}

// LifecycleConfig controls the Auto Scaling lifecycle hook.
type LifecycleConfig struct {
	Hook      string `toml:"hook" json:"hook"`
	OnFailure string `toml:"on_failure" json:"on_failure"`
	// MaxWait bounds the health stage's wait for the role to turn healthy.
	MaxWait Duration `toml:"max_wait" json:"max_wait"`
	// HeartbeatInterval is the time between lifecycle heartbeats; zero
	// means a third of the hook's heartbeat timeout.
	HeartbeatInterval Duration `toml:"heartbeat_interval" json:"heartbeat_interval"`
}

// SystemdConfig tells the units stage where unit drop-ins live and which
// manager to talk to.
type SystemdConfig struct {
	// UnitDir is the directory holding the role's unit files.
	UnitDir string `toml:"unit_dir" json:"unit_dir"`
}

// Duration is a time.Duration that reads and writes as text ("90s", "2m").
type Duration struct{ time.Duration }

// UnmarshalText parses a duration such as "90s".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText formats the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// Provenance maps each effective key, dotted as in "join.consul", to the
// source that set it, such as "default", "tag hashistack:role" or
// "user-data line 3".
type Provenance map[string]string
