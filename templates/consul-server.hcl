# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.
{{- /*
NOTE: gossip encryption ("encrypt") and the ACL tokens are not in this file.
The secrets stage fetches them from Vault at every boot and writes them to a
separate file on tmpfs that the agent loads too, so they never reach the disk.
*/}}
# Gossip encryption and ACL tokens are in a separate file on tmpfs, written at
# every boot, never here.

datacenter           = {{ hcl .Config.Datacenter }}
node_name            = {{ hcl .Config.NodeName }}
server               = true
bootstrap_expect     = {{ .Config.Consul.BootstrapExpect }}
data_dir             = {{ .Path "/var/lib/consul" | hcl }}
bind_addr            = {{ hcl .Bind }}
advertise_addr       = {{ hcl .Advertise }}
client_addr          = {{ hcl .Client }}
retry_join           = {{ hclList .Config.Join.Consul }}
leave_on_terminate   = true
disable_update_check = true

node_meta {
  namespace   = {{ hcl .Config.Namespace }}
  environment = {{ hcl .Config.Environment }}
}

acl {
  enabled        = true
  default_policy = "deny"
  down_policy    = "extend-cache"
}

# Issued by Vault's PKI and written to tmpfs by bootstrap at every boot.
tls {
  defaults {
    ca_file         = {{ .Path "/run/bootstrap/consul/ca.crt" | hcl }}
    cert_file       = {{ .Path "/run/bootstrap/consul/tls.crt" | hcl }}
    key_file        = {{ .Path "/run/bootstrap/consul/tls.key" | hcl }}
    verify_outgoing = true
  }

  internal_rpc {
    verify_server_hostname = true
  }
}
