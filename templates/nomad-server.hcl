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
{{- if .Config.Vault.Address }}
{{- if .NomadWorkloadIdentity }}

# Nomad 1.7 and later: tasks get Vault tokens through workload identities.
vault {
  enabled = true
  address = {{ hcl .Config.Vault.Address }}

  default_identity {
    aud = ["vault.io"]
    ttl = "1h"
  }
}
{{- else }}

# Nomad before 1.7: the server derives task tokens from its own Vault token,
# which the secrets stage passes in the environment, never in this file.
vault {
  enabled          = true
  address          = {{ hcl .Config.Vault.Address }}
  create_from_role = {{ hcl .Config.Namespace }}
}
{{- end }}
{{- end }}
