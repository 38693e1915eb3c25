package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/vaultauth"
	"github.com/hashistack/bootstrap/roles"
)

// Names of the TLS files in a service's directory.
const (
	certFile = "tls.crt"
	keyFile  = "tls.key"
	caFile   = "ca.crt"
)

type fetcher struct {
	o      Options
	client *api.Client
	out    *output
}

func (f fetcher) fetch(ctx context.Context, s roles.Secret) error {
	switch s.Kind {
	case roles.KindKV:
		return f.kv(ctx, s)
	case roles.KindConsulACL:
		return f.consulACL(ctx, s)
	case roles.KindPKI:
		return f.pki(ctx, s)
	case roles.KindVaultToken:
		return f.vaultToken(ctx, s)
	case roles.KindVaultTLS:
		return f.vaultTLS(ctx, s)
	}
	return fmt.Errorf("unknown kind %q", s.Kind)
}

// request runs one Vault request with retries and classified errors.
func (f fetcher) request(ctx context.Context, path string, do func(context.Context) (*api.Secret, error)) (*api.Secret, error) {
	var secret *api.Secret
	err := vaultauth.Retry(ctx, f.o.Logger, "vault "+path, func(ctx context.Context) error {
		var err error
		secret, err = do(ctx)
		return vaultauth.Classify(err, vaultauth.Request{Address: f.client.Address(), Path: path,
			Secrets: f.out.known})
	})
	if err != nil {
		return nil, err
	}
	if secret == nil || secret.Data == nil {
		return nil, fmt.Errorf("vault %s/v1/%s: %w: no data", f.client.Address(), path,
			vaultauth.ErrNotFound)
	}
	return secret, nil
}

func (f fetcher) read(ctx context.Context, path string) (*api.Secret, error) {
	return f.request(ctx, path, func(ctx context.Context) (*api.Secret, error) {
		return f.client.Logical().ReadWithContext(ctx, path)
	})
}

func (f fetcher) kv(ctx context.Context, s roles.Secret) error {
	secret, err := f.read(ctx, s.Path)
	if err != nil {
		return err
	}
	data, _ := secret.Data["data"].(map[string]any)
	value, _ := data[s.Field].(string)
	if value == "" {
		return fmt.Errorf("vault %s: field %q is missing or empty: write it with "+
			"`vault kv put`", s.Path, s.Field)
	}
	f.out.setting(s.Service, s.Setting, value)
	return nil
}

func (f fetcher) consulACL(ctx context.Context, s roles.Secret) error {
	secret, err := f.read(ctx, s.Path)
	if err != nil {
		return err
	}
	token, _ := secret.Data["token"].(string)
	if token == "" {
		return fmt.Errorf("vault %s: response has no token", s.Path)
	}
	f.out.setting(s.Service, s.Setting, token)
	return nil
}

func (f fetcher) pki(ctx context.Context, s roles.Secret) error {
	ips := []string{"127.0.0.1"}
	if ip := f.o.Instance.PrivateIP; ip != "" {
		ips = append(ips, ip)
	}
	body := map[string]any{
		"common_name": s.Names[0],
		"alt_names":   strings.Join(s.Names[1:], ","),
		"ip_sans":     strings.Join(ips, ","),
	}
	secret, err := f.request(ctx, s.Path, func(ctx context.Context) (*api.Secret, error) {
		return f.client.Logical().WriteWithContext(ctx, s.Path, body)
	})
	if err != nil {
		return err
	}
	cert, _ := secret.Data["certificate"].(string)
	key, _ := secret.Data["private_key"].(string)
	ca, _ := secret.Data["issuing_ca"].(string)
	if cert == "" || key == "" || ca == "" {
		return fmt.Errorf("vault %s: response lacks certificate, private_key or issuing_ca", s.Path)
	}
	return f.tlsFiles(s.Service, cert, key, ca)
}

func (f fetcher) tlsFiles(service, cert, key, ca string) error {
	if err := checkTLS(cert, key, ca); err != nil {
		return err
	}
	f.out.file(service, certFile, cert+"\n")
	f.out.file(service, keyFile, key+"\n")
	f.out.file(service, caFile, ca+"\n")
	return nil
}

// vaultToken creates a child token of the namespace's policies for a
// Nomad server before 1.10.
func (f fetcher) vaultToken(ctx context.Context, s roles.Secret) error {
	const path = "auth/token/create"
	var secret *api.Secret
	err := vaultauth.Retry(ctx, f.o.Logger, "vault "+path, func(ctx context.Context) error {
		var err error
		secret, err = f.client.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{
			Policies: s.Policies, DisplayName: "nomad-server", Period: "72h",
		})
		return vaultauth.Classify(err, vaultauth.Request{Address: f.client.Address(), Path: path,
			Secrets: f.out.known})
	})
	if err != nil {
		return err
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return fmt.Errorf("vault %s: response has no token", path)
	}
	f.out.setting(s.Service, s.Setting, secret.Auth.ClientToken)
	return nil
}

// tlsBundle is the JSON a Vault server's TLS secret in Secrets Manager
// holds.
type tlsBundle struct {
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"private_key"`
	CA          string `json:"ca"`
}

func (f fetcher) vaultTLS(ctx context.Context, s roles.Secret) error {
	v := f.o.Config.Vault
	if v.TLSSource != tlsSourceSecretsManager {
		return f.bakedTLS(s)
	}
	if f.o.SecretsManager == nil {
		return errors.New("no Secrets Manager client configured")
	}
	out, err := f.o.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(v.TLSBundle),
	}, func(o *secretsmanager.Options) {
		// The SDK takes no region from IMDS: use the node's.
		if o.Region == "" {
			o.Region = f.o.Config.Region
		}
	})
	if err != nil {
		return bundleError(v.TLSBundle, f.o.Config.Region, f.out.known.Wrap(err))
	}
	var b tlsBundle
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &b) != nil {
		return fmt.Errorf("secret %s (vault.tls_bundle) is not JSON with certificate, "+
			"private_key and ca", v.TLSBundle)
	}
	return f.tlsFiles(s.Service, strings.TrimSpace(b.Certificate),
		strings.TrimSpace(b.PrivateKey), strings.TrimSpace(b.CA))
}

func (f fetcher) bakedTLS(s roles.Secret) error {
	dir := f.o.Config.Vault.TLSDir
	var parts [3]string
	for i, name := range []string{certFile, keyFile, caFile} {
		b, err := os.ReadFile(filepath.Join(f.o.Root, dir, name))
		if err != nil {
			return fmt.Errorf("read %s (vault.tls_dir): %w", filepath.Join(dir, name), err)
		}
		parts[i] = strings.TrimSpace(string(b))
	}
	return f.tlsFiles(s.Service, parts[0], parts[1], parts[2])
}
