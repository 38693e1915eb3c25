mode 0640
# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.
# The gossip key is in a separate file on tmpfs, written at every boot.

datacenter           = "eu-west-1"
name                 = "i-0e2e000000000001"
data_dir             = "$ROOT/var/lib/nomad"
bind_addr            = "127.0.0.12"
leave_on_terminate   = true
disable_update_check = true

advertise {
  http = "127.0.0.12"
  rpc  = "127.0.0.12"
  serf = "127.0.0.12"
}

server {
  enabled          = true
  bootstrap_expect = 3

  server_join {
    retry_join = ["nomad.e2e.internal"]
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
