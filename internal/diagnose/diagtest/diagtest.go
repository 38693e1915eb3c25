// Package diagtest builds what `bootstrap diagnose` reads, for its tests
// and the CLI's scripts: a node's state tree below a scratch root, and
// stand-ins on loopback for the agents' health APIs, Vault's token lookup
// and an AWS endpoint's Date header.
//
// It writes only below the root it is given and listens only on loopback.
package diagtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/roles"
)

// Stages lists the run's stages in order, as the runner names them.
var Stages = []string{"metadata", "config", "secrets", "render", "units", "health", "signal"}

// InstanceID is the instance every built node belongs to.
const InstanceID = "i-0c11000000000a001"

// Node describes the node whose state tree Write builds.
type Node struct {
	// Role is a role of the roles package, such as "consul-server".
	Role string
	// Addr is the loopback address the agents bind to and serve on.
	Addr string
	// DNSServer is dns.server, "host:port"; empty is the system resolver.
	DNSServer string
	// Join is the role's retry_join list.
	Join []string
	// VaultAddr is vault.address.
	VaultAddr string
	// VaultMode is nomad.vault_mode.
	VaultMode string
	// FailStage is the stage that failed, with FailError; empty means the
	// run succeeded.
	FailStage, FailError string
	// Running leaves the run unfinished at FailStage, as a killed run does.
	Running bool
	// TargetState is the target lifecycle state the run saw.
	TargetState string
	// SignalDetail is the signal stage's detail; empty is a CONTINUE.
	SignalDetail string
}

// started is the fixed start of every built run.
var started = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// Write builds the state file and the rendered files of n below root and
// returns the state it wrote.
func Write(root string, n Node) (*state.File, error) {
	role, err := roles.Load(n.Role)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	st := n.stateFile()
	if reached(n, "render") {
		for _, f := range role.Files {
			rec, err := writeRendered(root, f)
			if err != nil {
				return nil, err
			}
			st.Files = append(st.Files, rec)
		}
	}
	if err := state.Save(root, st); err != nil {
		return nil, err
	}
	return st, nil
}

// reached reports whether the run completed stage.
func reached(n Node, stage string) bool {
	if n.FailStage == "" {
		return true
	}
	for _, s := range Stages {
		if s == n.FailStage {
			return false
		}
		if s == stage {
			return true
		}
	}
	return false
}

func writeRendered(root string, f roles.File) (state.Rendered, error) {
	data := []byte(fmt.Sprintf("# %s rendered by diagtest from %s\n", f.Path, f.Template))
	p := filepath.Join(root, f.Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return state.Rendered{}, err
	}
	if err := os.WriteFile(p, data, 0o640); err != nil {
		return state.Rendered{}, err
	}
	if err := os.Chmod(p, 0o640); err != nil { // the umask may have cleared bits
		return state.Rendered{}, err
	}
	sum := sha256.Sum256(data)
	return state.Rendered{Path: f.Path, SHA256: hex.EncodeToString(sum[:]), Mode: "0640",
		Owner: f.Service, Group: f.Service}, nil
}

func (n Node) stateFile() *state.File {
	inst := &node.Instance{InstanceID: InstanceID, AccountID: "123456789012", Region: "eu-west-1",
		AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3", TagsSource: "imds",
		TargetLifecycleState: n.TargetState}
	st := &state.File{Version: state.Version, InstanceID: InstanceID, Result: state.OK,
		Started: started, Instance: inst}
	at := started
	for _, name := range Stages {
		s := state.Stage{Name: name, Result: state.OK, Started: at, Duration: 150 * time.Millisecond}
		at = at.Add(s.Duration)
		if name == n.FailStage {
			st.Stages = append(st.Stages, n.failed(s))
			st.Result = state.Failed
			if n.Running {
				st.Result = state.Running
			}
			break
		}
		if name == "signal" {
			s.Detail = n.signalDetail()
		}
		st.Stages = append(st.Stages, s)
	}
	if reached(n, "config") {
		cfg := n.config()
		st.Role, st.Config, st.Provenance = cfg.Role, &cfg, provenance()
	}
	if st.Result != state.Running {
		st.Finished = at
	}
	return st
}

func (n Node) failed(s state.Stage) state.Stage {
	if n.Running {
		s.Result, s.Duration = state.Running, 0
		return s
	}
	s.Result, s.Error = state.Failed, n.FailError
	return s
}

func (n Node) signalDetail() string {
	if n.SignalDetail != "" {
		return n.SignalDetail
	}
	return "CONTINUE sent for hook launch of group payments-consul (healthy, 0 heartbeats)"
}

func (n Node) config() node.Config {
	cfg := node.Config{
		Role: n.Role, Namespace: "payments", Datacenter: "eu-west-1", Environment: "prod",
		Region: "eu-west-1", NodeName: InstanceID, NodeClass: "payments",
		Network: node.NetworkConfig{Bind: n.Addr, Client: n.Addr},
		DNS:     node.DNSConfig{Server: n.DNSServer},
		Vault:   node.VaultConfig{Address: n.VaultAddr, TLSDisable: true, Role: "payments"},
		Nomad:   node.NomadConfig{VaultMode: n.VaultMode},
	}
	cfg.DNS.Wait.Duration = 20 * time.Second
	switch n.Role {
	case "consul-server":
		cfg.Join.Consul = n.Join
	case "vault-server":
		cfg.Join.Vault = n.Join
	default:
		cfg.Join.Nomad = n.Join
	}
	return cfg
}

func provenance() node.Provenance {
	return node.Provenance{
		"role": "tag hashistack:role", "namespace": "user-data line 2",
		"environment": "/etc/bootstrap/bootstrap.toml line 1", "network.client": "/etc/bootstrap/bootstrap.toml line 5",
		"join.consul": "user-data line 6", "region": "default from identity document",
	}
}
