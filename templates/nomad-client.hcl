# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.

datacenter           = {{ hcl .Config.Datacenter }}
name                 = {{ hcl .Config.NodeName }}
data_dir             = {{ .Path "/var/lib/nomad" | hcl }}
bind_addr            = {{ hcl .Bind }}
leave_on_terminate   = true
disable_update_check = true

advertise {
  http = {{ hcl .Advertise }}
  rpc  = {{ hcl .Advertise }}
  serf = {{ hcl .Advertise }}
}

client {
  enabled = true
  # The node class is the namespace: job placement and Vault policies rely on it.
  node_class = {{ hcl .Config.Namespace }}

  meta {
    namespace   = {{ hcl .Config.Namespace }}
    environment = {{ hcl .Config.Environment }}
  }

  server_join {
    retry_join = {{ hclList .Config.Join.Nomad }}
  }
{{- if .Config.Nomad.FingerprintDenylist }}

  options {
    "fingerprint.denylist" = {{ commaList .Config.Nomad.FingerprintDenylist | hcl }}
  }
{{- end }}
}

# RPC TLS with a certificate issued by Vault's PKI and written to tmpfs by
# bootstrap at every boot. The HTTP API stays plain on the client address.
tls {
  rpc                    = true
  ca_file                = {{ .Path "/run/bootstrap/nomad/ca.crt" | hcl }}
  cert_file              = {{ .Path "/run/bootstrap/nomad/tls.crt" | hcl }}
  key_file               = {{ .Path "/run/bootstrap/nomad/tls.key" | hcl }}
  verify_server_hostname = true
}
{{- if .Config.Vault.Address }}

vault {
  enabled = true
  address = {{ hcl .Config.Vault.Address }}
}
{{- end }}
