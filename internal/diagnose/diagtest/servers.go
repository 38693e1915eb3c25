package diagtest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Server is a stand-in HTTP server on loopback.
type Server struct {
	// URL is the base URL, such as "http://127.0.0.1:41234".
	URL string
	srv *httptest.Server
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// serve starts h on addr, "host:port" on loopback; port 0 picks one.
func serve(addr string, h http.Handler) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("stand-in address %s is not on loopback", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	return &Server{URL: srv.URL, srv: srv}, nil
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// Consul starts a healthy Consul server agent's health API on addr
// ("host:8500"): a known leader and this node an alive server member, as
// GET /v1/status/leader and /v1/agent/self of Consul 1.14 return them.
func Consul(addr, nodeName string) (*Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status/leader", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, "127.0.0.1:8300")
	})
	mux.HandleFunc("GET /v1/agent/self", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"Config": map[string]any{"NodeName": nodeName, "Server": true},
			// Serf's member status 1 is alive.
			"Member": map[string]any{"Name": nodeName, "Status": 1},
		})
	})
	return serve(addr, mux)
}

// Clock starts an endpoint whose Date header is the local time plus skew,
// as an AWS endpoint's is when the local clock is skew behind. It answers
// every request 404 with an XML body, as STS does to a HEAD of its root.
func Clock(skew time.Duration) (*Server, error) {
	return serve("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusNotFound)
	}))
}

// Vault starts Vault's auth/token/lookup-self for one token with the given
// time to live. Like Vault, it answers 403 "permission denied" to any
// other token or none, and 405 to other methods.
func Vault(token string, ttl time.Duration) (*Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/auth/token/lookup-self", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"errors": []string{}})
			return
		}
		if r.Header.Get("X-Vault-Token") != token || strings.Contains(r.URL.RawQuery, token) {
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"permission denied"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"request_id": "0f3c9a52-7d3e-4c43-9a43-3d8a1c1e0b01",
			"data": map[string]any{
				"accessor": "kJvKx1xq7x8oVq5Q0kN9yZ2f", "policies": []string{"payments-nomad-server"},
				"ttl": int(ttl.Seconds()), "renewable": true, "type": "service",
			},
		})
	})
	return serve("127.0.0.1:0", mux)
}

// Hang starts a server that accepts connections and never answers, as a
// component that is up but stuck does.
func Hang(addr string) (*Server, error) {
	return serve(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
}
