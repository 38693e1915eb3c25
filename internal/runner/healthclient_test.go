package runner

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/roles"
)

// TestHealthClientTrustsVaultCA checks the Vault health client against a
// TLS server whose certificate only the written CA file vouches for, and
// whose names include the join name but not the address dialled.
func TestHealthClientTrustsVaultCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	root := t.TempDir()
	dir := filepath.Join(root, "run/bootstrap/vault")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	role, err := roles.Load("vault-server")
	if err != nil {
		t.Fatal(err)
	}
	r := &run{o: Options{Root: root}}
	r.res.role = role
	// httptest's certificate names example.com.
	r.res.config = node.Config{Join: node.JoinConfig{Vault: []string{"example.com"}}}
	client, err := r.healthClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with the written CA: %v", err)
	}
	resp.Body.Close()

	r.res.config.Join.Vault = []string{"vault.other.internal"}
	client, err = r.healthClient()
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := client.Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Error("GET succeeded although the certificate does not name the join name")
	}
}
