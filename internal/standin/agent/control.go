package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
)

// HealthFile is the name of the file, beside the agent's config file, that
// tests write to control the health the stand-in reports. It is read at
// every request: "unhealthy" makes the agent report the state of an agent
// that has not joined its cluster yet (Vault sealed, no Consul or Nomad
// leader, a Nomad node initializing); anything else, or no file, reports
// healthy.
const HealthFile = "standin-health"

// unhealthy reports whether the health file asks for an unhealthy agent.
func (a agentInfo) unhealthy() bool {
	if a.healthFile == "" {
		return false
	}
	b, err := os.ReadFile(a.healthFile)
	return err == nil && strings.TrimSpace(string(b)) == "unhealthy"
}

// nodeID derives a stable Nomad node ID, in UUID form, from the node name.
func nodeID(name string) string {
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// serveNomadNode serves GET /v1/node/{id} for the local client: the fields
// the node check reads, with the class and meta of the client config.
func serveNomadNode(a agentInfo) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := a.nodeName("name")
		if !a.boolean("client", "enabled") || r.PathValue("id") != nodeID(name) {
			http.Error(w, "node not found", http.StatusNotFound)
			return
		}
		status, description := "ready", ""
		if a.unhealthy() {
			status, description = "initializing", "stand-in told to report unhealthy"
		}
		meta := map[string]string{}
		if m, ok := lookup(a.config, "client", "meta").([]map[string]any); ok && len(m) > 0 {
			for k, v := range m[0] {
				if s, ok := v.(string); ok {
					meta[k] = s
				}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"ID": nodeID(name), "Name": name, "NodeClass": a.str("", "client", "node_class"),
			"Status": status, "StatusDescription": description,
			"SchedulingEligibility": "eligible", "Meta": meta,
		})
	}
}
