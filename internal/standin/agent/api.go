package main

import (
	"encoding/json"
	"net/http"
	"os"
	"time"
)

// Versions reported by the stand-ins: the real releases built and tested for
// this project, marked as stand-ins in the build metadata.
const (
	consulVersion = "1.14.11+standin"
	nomadVersion  = "1.6.2+standin"
	vaultVersion  = "1.13.2+standin"
)

// routes returns each role's HTTP API.
var routes = map[string]func(agentInfo) http.Handler{
	"consul": consulAPI,
	"nomad":  nomadAPI,
	"vault":  vaultAPI,
}

// agentInfo contains the data the endpoints report: the parsed config and
// the address served on.
type agentInfo struct {
	config map[string]any
	addr   string
	// healthFile is the path of the [HealthFile]; empty reports healthy.
	healthFile string
}

// str returns the string at path in the config, or fallback when unset.
func (a agentInfo) str(fallback string, path ...string) string {
	if s, ok := lookup(a.config, path...).(string); ok {
		return s
	}
	return fallback
}

// boolean returns the bool at path in the config, or false when unset.
func (a agentInfo) boolean(path ...string) bool {
	b, _ := lookup(a.config, path...).(bool)
	return b
}

func (a agentInfo) nodeName(key string) string {
	host, _ := os.Hostname() // the real agents fall back to it too
	return a.str(host, key)
}

// lookup follows path through the config. HCL v1 decodes a block such as
// `client { ... }` into a list of maps, so a list step takes its first map.
func lookup(config map[string]any, path ...string) any {
	var value any = config
	for _, key := range path {
		var m map[string]any
		switch v := value.(type) {
		case map[string]any:
			m = v
		case []map[string]any:
			if len(v) > 0 {
				m = v[0]
			}
		}
		if m == nil {
			return nil
		}
		value = m[key]
	}
	return value
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // a failed write means the client left
}

// consulAPI serves the Consul agent endpoints the health checks read.
func consulAPI(a agentInfo) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status/leader", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, leader(a, "127.0.0.1:8300"))
	})
	mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, _ *http.Request) {
		name := a.nodeName("node_name")
		writeJSON(w, http.StatusOK, map[string]any{
			"Config": map[string]any{
				"Datacenter": a.str("dc1", "datacenter"),
				"NodeName":   name,
				"Server":     a.boolean("server"),
				"Version":    consulVersion,
			},
			// Consul reports the Serf member status as a number: 1 is alive.
			"Member": map[string]any{
				"Name": name, "Addr": "127.0.0.1", "Port": 8301, "Status": 1,
				"Tags": map[string]string{"role": "consul", "standin": "true"},
			},
		})
	})
	// A one-server cluster: this node is the leader and a healthy voter.
	mux.HandleFunc("GET /v1/operator/autopilot/health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"Healthy": true, "FailureTolerance": 0,
			"Servers": []map[string]any{{
				"ID": "standin", "Name": a.nodeName("node_name"), "Address": "127.0.0.1:8300",
				"SerfStatus": "alive", "Version": consulVersion, "Leader": true,
				"LastContact": "0s", "Healthy": true, "Voter": true,
			}},
		})
	})
	return mux
}

// nomadAPI serves the Nomad agent endpoints the health checks read.
func nomadAPI(a agentInfo) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/health", func(w http.ResponseWriter, _ *http.Request) {
		ok := map[string]any{"ok": true, "message": "ok"}
		// Nomad reports only the parts of the agent that are enabled.
		health := map[string]any{}
		if a.boolean("server", "enabled") {
			health["server"] = ok
		}
		if a.boolean("client", "enabled") {
			health["client"] = ok
		}
		writeJSON(w, http.StatusOK, health)
	})
	mux.HandleFunc("GET /v1/status/leader", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, leader(a, "127.0.0.1:4647"))
	})
	mux.HandleFunc("GET /v1/node/{id}", serveNomadNode(a))
	mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, _ *http.Request) {
		name := a.nodeName("name")
		stats := map[string]any{}
		if a.boolean("client", "enabled") {
			stats["client"] = map[string]string{"node_id": nodeID(name)}
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"stats": stats,
			"config": map[string]any{
				"Region":     a.str("global", "region"),
				"Datacenter": a.str("dc1", "datacenter"),
				"NodeName":   name,
				"Version":    map[string]any{"Version": nomadVersion},
				"Server":     map[string]any{"Enabled": a.boolean("server", "enabled")},
				"Client": map[string]any{
					"Enabled":   a.boolean("client", "enabled"),
					"NodeClass": a.str("", "client", "node_class"),
				},
			},
			"member": map[string]any{
				"Name": name, "Addr": "127.0.0.1", "Port": 4648, "Status": "alive",
				"Tags": map[string]string{"role": "nomad", "standin": "true"},
			},
		})
	})
	return mux
}

// leader returns addr, or "" (no leader) when the agent reports unhealthy.
func leader(a agentInfo, addr string) string {
	if a.unhealthy() {
		return ""
	}
	return addr
}

// vaultAPI serves Vault's health endpoint with the response of an
// initialized, unsealed, active node, or of a sealed one (503) when the
// agent reports unhealthy.
func vaultAPI(a agentInfo) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sys/health", func(w http.ResponseWriter, _ *http.Request) {
		status, sealed := http.StatusOK, false
		if a.unhealthy() {
			status, sealed = http.StatusServiceUnavailable, true
		}
		writeJSON(w, status, map[string]any{
			"initialized":                  true,
			"sealed":                       sealed,
			"standby":                      false,
			"performance_standby":          false,
			"replication_performance_mode": "disabled",
			"replication_dr_mode":          "disabled",
			"server_time_utc":              time.Now().Unix(),
			"version":                      vaultVersion,
			"cluster_name":                 a.str("standin-vault", "cluster_name"),
		})
	})
	return mux
}
