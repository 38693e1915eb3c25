package secrets_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/secrets"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/roles"
)

const (
	tlsBundleName = "bootstrap/vault-tls"
	// foreignBundleARN is a secret in an account other than the stand-in's,
	// which Secrets Manager denies without a resource policy.
	foreignBundleARN = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:bootstrap/vault-tls-Zz9Yx8"
	// notJSONBundle is a secret value that is not a TLS bundle, so the error
	// must reject it without quoting it.
	notJSONBundle = "CANARY-not-a-bundle-8d4e"
)

// tlsMaterial is a CA and a server certificate it signed, in PEM.
type tlsMaterial struct {
	cert, key, ca string
}

// newTLSMaterial returns fresh PEM material. Each key is unique, so its
// PEM body serves as a canary marker.
func newTLSMaterial(t *testing.T) tlsMaterial {
	t.Helper()
	caKey := newKey(t)
	caTemplate := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "test vault CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:  x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	serverKey := newKey(t)
	serverTemplate := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "vault.example.internal"}, DNSNames: []string{"vault.example.internal"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTemplate, caTemplate, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return tlsMaterial{
		cert: pemString("CERTIFICATE", serverDER),
		key:  pemString("PRIVATE KEY", keyDER),
		ca:   pemString("CERTIFICATE", caDER),
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func pemString(blockType string, der []byte) string {
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})))
}

// keyMarker returns the first base64 line of a PEM key, a secret that no
// log line, error or file outside the secrets directory may contain.
func keyMarker(key string) string {
	return strings.Split(key, "\n")[1]
}

// bundleJSON returns m as the JSON document the secret holds.
func bundleJSON(t *testing.T, m tlsMaterial) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"certificate": m.cert, "private_key": m.key, "ca": m.ca})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// secretsManagerClient returns a real Secrets Manager client aimed at srv,
// with the SDK's default retryer, as the agent builds it. It has no region,
// so the request is signed for the node's region that the stage supplies.
func secretsManagerClient(srv *awsapi.Server) *secretsmanager.Client {
	cfg := aws.Config{Credentials: aws.NewCredentialsCache(staticCreds{})}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
	})
}

// fetchVaultTLS runs the stage for a vault-server node whose TLS material
// comes from the bundle secret, without any Vault client.
func fetchVaultTLS(t *testing.T, srv *awsapi.Server, root, bundle string, log *slog.Logger) (secrets.Result, error) {
	t.Helper()
	role, err := roles.Load("vault-server")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config("vault-server")
	cfg.Vault.TLSSource, cfg.Vault.TLSBundle, cfg.Vault.TLSDir = "secrets-manager", bundle, ""
	return secrets.Fetch(t.Context(), secrets.Options{
		Root: root, Role: role, Config: cfg,
		Instance:       node.Instance{PrivateIP: "10.1.2.3"},
		SecretsManager: secretsManagerClient(srv),
		Logger:         log,
	})
}

func newBundleServer(t *testing.T, bundles map[string]string) *awsapi.Server {
	t.Helper()
	return awsapi.NewSecretsManager(t, awsapi.Options{Region: "eu-west-1", Credentials: testCreds}, bundles)
}

func TestFetchVaultTLSFromSecretsManager(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			material := newTLSMaterial(t)
			srv := newBundleServer(t, map[string]string{tlsBundleName: bundleJSON(t, material)})
			root := newRoot(t)
			var logs bytes.Buffer
			h := slog.Handler(slog.NewTextHandler(&logs, nil))
			if format == "json" {
				h = slog.NewJSONHandler(&logs, nil)
			}

			res, err := fetchVaultTLS(t, srv, root, tlsBundleName, slog.New(h))
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			wantFiles := []string{"/run/bootstrap/vault/ca.crt", "/run/bootstrap/vault/secrets.hcl",
				"/run/bootstrap/vault/tls.crt", "/run/bootstrap/vault/tls.key"}
			if diff := cmp.Diff(wantFiles, res.Files); diff != "" {
				t.Errorf("files mismatch (-want +got):\n%s", diff)
			}
			if res.Login != nil {
				t.Error("vault-server logged in to Vault, want no login")
			}
			checkMode(t, filepath.Join(root, "run/bootstrap/vault"), fs.ModeDir|0o700)
			wantContent := map[string]string{"tls.crt": material.cert, "tls.key": material.key, "ca.crt": material.ca}
			for name, want := range wantContent {
				p := filepath.Join(root, "run/bootstrap/vault", name)
				checkMode(t, p, 0o600)
				got, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want+"\n" {
					t.Errorf("%s = %q, want the bundle's value and a newline", name, got)
				}
			}

			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Action != "GetSecretValue" ||
				calls[0].Params.Get("SecretId") != tlsBundleName || calls[0].Error != "" {
				t.Errorf("calls = %+v, want one successful GetSecretValue of %s", calls, tlsBundleName)
			}
			marker := keyMarker(material.key)
			if strings.Contains(logs.String(), marker) {
				t.Errorf("log contains the private key:\n%s", logs.String())
			}
			walkOutside(t, root, []string{marker})
		})
	}
}

func TestFetchVaultTLSSecretsManagerErrors(t *testing.T) {
	material := newTLSMaterial(t)
	other := newTLSMaterial(t)
	mismatched := material
	mismatched.key = other.key
	tests := []struct {
		name    string
		bundle  string
		value   string
		want    []string // substrings of the error
		wantAPI string   // the AWS error code the error wraps, or ""
	}{
		{name: "not_found", bundle: "bootstrap/missing",
			want: []string{"bootstrap/missing", "vault.tls_bundle", "not found",
				"create the secret in region eu-west-1 or correct vault.tls_bundle"},
			wantAPI: "ResourceNotFoundException"},
		{name: "access_denied", bundle: foreignBundleARN,
			want: []string{foreignBundleARN, "vault.tls_bundle", "access denied",
				"allow secretsmanager:GetSecretValue on the secret to the instance role"},
			wantAPI: "AccessDeniedException"},
		{name: "not_json", bundle: tlsBundleName, value: notJSONBundle,
			want: []string{tlsBundleName, "vault.tls_bundle", "not JSON with certificate, private_key and ca"}},
		{name: "key_not_for_certificate", bundle: tlsBundleName, value: bundleJSON(t, mismatched),
			want: []string{"secret tls", "do not form a pair"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stored := map[string]string{}
			if tc.value != "" {
				stored[tc.bundle] = tc.value
			}
			srv := newBundleServer(t, stored)
			root := newRoot(t)
			var logs bytes.Buffer

			_, err := fetchVaultTLS(t, srv, root, tc.bundle, slog.New(slog.NewTextHandler(&logs, nil)))
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			checkAPIError(t, err, tc.wantAPI)
			for _, secret := range []string{notJSONBundle, keyMarker(material.key), keyMarker(other.key)} {
				if strings.Contains(err.Error(), secret) || strings.Contains(logs.String(), secret) {
					t.Errorf("error or log contains secret %q", secret)
				}
			}
			if n := len(srv.Calls()); n != 1 {
				t.Errorf("%d GetSecretValue calls, want 1: these errors are not retried", n)
			}
			if _, err := os.Stat(filepath.Join(root, "run/bootstrap/vault/tls.key")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("tls.key after a failed fetch: stat error %v, want not exist", err)
			}
		})
	}
}

// checkAPIError checks that err wraps the AWS error code want, so callers
// can classify it, and that a not-found error keeps its modeled type.
func checkAPIError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		return
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != want {
		t.Errorf("error %v does not wrap %s", err, want)
	}
	var notFound *types.ResourceNotFoundException
	if want == "ResourceNotFoundException" && !errors.As(err, &notFound) {
		t.Errorf("error %v does not wrap *types.ResourceNotFoundException", err)
	}
}
