package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/secrets"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/vaultauth"
)

// SecretsOptions holds the clients the secrets stage uses.
type SecretsOptions struct {
	// Credentials signs the Vault login; the agent passes the SDK's
	// default chain, which reads the instance profile through IMDS.
	Credentials aws.CredentialsProvider
	// Vault returns a client for address; "" means VAULT_ADDR. Nil uses
	// NewVaultClient.
	Vault func(address string) (*api.Client, error)
	// SecretsManager serves a Vault server's TLS material.
	SecretsManager secrets.SecretsManager
}

// NewVaultClient returns a Vault client for address, or for VAULT_ADDR when
// address is empty, with the client's own retries off: the secrets stage
// retries with its own logged backoff.
func NewVaultClient(address string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault client configuration: %w", cfg.Error)
	}
	if address != "" {
		cfg.Address = address
	}
	cfg.MaxRetries = 0
	return api.NewClient(cfg)
}

func (r *run) secrets(ctx context.Context) (string, string, error) {
	if warm(r.res.instance) {
		return state.Skipped, "warm pool (" + r.res.instance.TargetLifecycleState +
			"): no secret fetched", nil
	}
	if len(r.res.role.Secrets) == 0 {
		return state.Skipped, "role declares no secret", nil
	}
	newClient := r.o.Secrets.Vault
	if newClient == nil {
		newClient = NewVaultClient
	}
	client, err := newClient(r.res.config.Vault.Address)
	if err != nil {
		return "", "", err
	}
	res, err := secrets.Fetch(ctx, secrets.Options{
		Root:           r.o.Root,
		Role:           r.res.role,
		Config:         r.res.config,
		Instance:       r.res.instance,
		Vault:          client,
		Login:          vaultauth.Options{Credentials: r.o.Secrets.Credentials, Now: r.o.Now},
		SecretsManager: r.o.Secrets.SecretsManager,
		Logger:         r.log.With("stage", StageSecrets),
	})
	if err != nil {
		return "", "", err
	}
	detail := fmt.Sprintf("%d secrets (%s) in %d files", len(res.Secrets),
		strings.Join(res.Secrets, ", "), len(res.Files))
	if res.Login != nil {
		detail += "; vault token accessor " + res.Login.Accessor
	}
	return state.OK, detail, nil
}
