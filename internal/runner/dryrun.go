package runner

import (
	"context"

	"github.com/hashistack/bootstrap/internal/render"
)

// Render runs the metadata and config stages and returns the files the
// render stage would write, touching nothing: no state file, no lock, no
// file and no unit.
func Render(ctx context.Context, o Options) ([]render.File, error) {
	o = withDefaults(o)
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	r := newRun(o, nil)
	r.dry = true
	for _, s := range []struct {
		name string
		fn   step
	}{{StageMetadata, r.metadata}, {StageConfig, r.config}} {
		if _, _, err := s.fn(ctx); err != nil {
			return nil, &StageError{Stage: s.name, Err: err}
		}
	}
	files, err := render.Plan(render.Input{
		Root:     o.Root,
		Role:     r.res.role,
		Config:   r.res.config,
		Instance: r.res.instance,
	})
	if err != nil {
		return nil, &StageError{Stage: StageRender, Err: err}
	}
	return files, nil
}
