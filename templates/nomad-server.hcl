# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.
{{- /*
NOTE: the gossip key ("server.encrypt") is not in this file. The secrets
stage writes it to a separate file on tmpfs that the agent loads too.
*/}}
# The gossip key is in a separate file on tmpfs, written at every boot.

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

server {
  enabled          = true
  bootstrap_expect = {{ .Config.Nomad.BootstrapExpect }}

  server_join {
    retry_join = {{ hclList .Config.Join.Nomad }}
  }
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
{{- if and .NomadWorkloadIdentity (ne .Config.Nomad.VaultMode "legacy-token") }}

# Nomad 1.7 and later: tasks get Vault tokens through workload identities,
# and the server holds no Vault token.
vault {
  enabled = true
  address = {{ hcl .Config.Vault.Address }}

  default_identity {
    aud = ["vault.io"]
    ttl = "1h"
  }
}
{{- else }}

# nomad.vault_mode = "legacy-token", for Nomad before 1.10: the server
# derives task tokens from its own token, a child token of the namespace's
# policies that bootstrap writes to /run/bootstrap/nomad/secrets.hcl.
vault {
  enabled          = true
  address          = {{ hcl .Config.Vault.Address }}
  create_from_role = {{ hcl .Config.Namespace }}
}
{{- end }}
{{- end }}
