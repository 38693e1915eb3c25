package runner

import (
	"context"

	"github.com/hashistack/bootstrap/internal/state"
)

// SecretsOptions holds the clients the secrets stage uses.
type SecretsOptions struct{}

// secrets is a placeholder until the Vault login is built: no secret is
// fetched, and the stage says so instead of claiming success.
func (r *run) secrets(ctx context.Context) (string, string, error) {
	if warm(r.res.instance) {
		return state.Skipped, "warm pool (" + r.res.instance.TargetLifecycleState +
			"): no secret fetched", nil
	}
	// TODO: log in to Vault with the AWS IAM auth method and fetch the
	// role's secrets to tmpfs.
	return state.Skipped, "not built yet: no secret fetched", nil
}
