package runner

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/hashistack/bootstrap/internal/secrets"
)

// healthClient returns the HTTP client of the health checks; nil means
// http.DefaultClient. A Vault server with TLS on presents a certificate of
// the cluster's own CA, which the secrets stage wrote beside the server's
// certificate, so the client trusts that CA as well. The check connects to
// the bind address, so it verifies the certificate against the first
// join.vault name: raft's retry_join reaches the leader by those names, so
// the cluster's certificate must carry them anyway.
func (r *run) healthClient() (*http.Client, error) {
	if r.o.Lifecycle.HTTP != nil {
		return r.o.Lifecycle.HTTP, nil
	}
	cfg := r.res.config
	if r.res.role.Name != "vault-server" || cfg.Vault.TLSDisable {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	caPath := filepath.Join(secrets.Dir, "vault", "ca.crt")
	ca, err := os.ReadFile(filepath.Join(r.o.Root, caPath))
	switch {
	case err == nil:
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("%s holds no PEM certificate: check the Vault TLS bundle", caPath)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read the Vault CA: %w", err)
	}
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if len(cfg.Join.Vault) > 0 {
		tlsConfig.ServerName = cfg.Join.Vault[0]
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	// The checks go to the node's own addresses, never through a proxy.
	transport.Proxy = nil
	return &http.Client{Transport: transport}, nil
}
