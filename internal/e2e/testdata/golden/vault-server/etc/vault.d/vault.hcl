mode 0640
# Written by bootstrap from this node's tags and user-data. Edit the inputs,
# not this file: bootstrap diagnose reports local edits as drift.

storage "raft" {
  path    = "$ROOT/var/lib/vault"
  node_id = "i-0e2e000000000001"

  retry_join {
    leader_api_addr = "http://vault.e2e.internal:8200"
  }
}

listener "tcp" {
  address         = "127.0.0.14:8200"
  cluster_address = "127.0.0.14:8201"
  tls_disable     = true
}

seal "awskms" {
  region     = "eu-west-1"
  kms_key_id = "alias/vault-unseal"
  endpoint   = "http://127.0.0.1:9"
}

api_addr      = "http://127.0.0.14:8200"
cluster_addr  = "https://127.0.0.14:8201"
disable_mlock = true
ui            = false
