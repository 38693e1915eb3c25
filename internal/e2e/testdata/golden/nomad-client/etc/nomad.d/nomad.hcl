mode 0640
# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.

datacenter           = "eu-west-1"
name                 = "i-0e2e000000000001"
data_dir             = "$ROOT/var/lib/nomad"
bind_addr            = "127.0.0.13"
leave_on_terminate   = true
disable_update_check = true

advertise {
  http = "127.0.0.13"
  rpc  = "127.0.0.13"
  serf = "127.0.0.13"
}

client {
  enabled = true
  # The node class is the namespace: job placement and Vault policies rely on it.
  node_class = "payments"

  meta {
    namespace   = "payments"
    environment = "prod"
  }

  server_join {
    retry_join = ["nomad.e2e.internal"]
  }

  options {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
}

# RPC TLS with a certificate issued by Vault's PKI and written to tmpfs by
# bootstrap at every boot. The HTTP API stays plain on the client address.
tls {
  rpc                    = true
  ca_file                = "$ROOT/run/bootstrap/nomad/ca.crt"
  cert_file              = "$ROOT/run/bootstrap/nomad/tls.crt"
  key_file               = "$ROOT/run/bootstrap/nomad/tls.key"
  verify_server_hostname = true
}
