mode 0640
# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.
# Gossip encryption and ACL tokens are in a separate file on tmpfs, written at
# every boot, never here.

datacenter           = "eu-west-1"
node_name            = "i-0e2e000000000001"
server               = true
bootstrap_expect     = 3
data_dir             = "$ROOT/var/lib/consul"
bind_addr            = "127.0.0.11"
advertise_addr       = "127.0.0.11"
client_addr          = "127.0.0.11"
retry_join           = ["consul.e2e.internal"]
leave_on_terminate   = true
disable_update_check = true

node_meta {
  namespace   = "payments"
  environment = "prod"
}

acl {
  enabled        = true
  default_policy = "deny"
  down_policy    = "extend-cache"
}

# Issued by Vault's PKI and written to tmpfs by bootstrap at every boot.
tls {
  defaults {
    ca_file         = "$ROOT/run/bootstrap/consul/ca.crt"
    cert_file       = "$ROOT/run/bootstrap/consul/tls.crt"
    key_file        = "$ROOT/run/bootstrap/consul/tls.key"
    verify_outgoing = true
  }

  internal_rpc {
    verify_server_hostname = true
  }
}
