package runner

import (
	"context"

	"github.com/hashistack/bootstrap/internal/state"
)

// LifecycleOptions holds the clients the health and signal stages use.
type LifecycleOptions struct{}

func (r *run) health(ctx context.Context) (string, string, error) {
	// TODO: poll the role's health checks until healthy or the deadline.
	return state.Skipped, "not built yet: health not checked", nil
}

func (r *run) signal(ctx context.Context) (string, string, error) {
	// TODO: complete the Auto Scaling lifecycle action.
	return state.Skipped, "not built yet: lifecycle hook not completed", nil
}
