package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashistack/bootstrap/internal/state"
)

// MessageID is the journald MESSAGE_ID carried by the final line of a run,
// so `journalctl MESSAGE_ID=...` finds every node's verdict.
const MessageID = "6b1c9f4e2a7d4e0f9d3a5c8b7e2f1a09"

// run is one execution of the stages and the state it records.
type run struct {
	o    Options
	log  *slog.Logger
	prev *state.File
	st   *state.File
	res  results
	// hook carries the lifecycle action from the health to the signal stage.
	hook hookState
	// dry keeps the run from writing the state file.
	dry bool
}

func newRun(o Options, prev *state.File) *run {
	st := &state.File{
		Version: state.Version,
		BootID:  o.BootID,
		Result:  state.Running,
		Started: o.Now().UTC(),
	}
	if prev != nil {
		// Carry the render record forward until the metadata stage finds
		// out whether this is still the same instance.
		st.InstanceID = prev.InstanceID
		st.InputsDigest = prev.InputsDigest
		st.Files = prev.Files
	}
	return &run{o: o, log: o.Logger, prev: prev, st: st}
}

// step is the body of one stage. It returns the stage result (state.OK,
// state.Skipped or state.Unchanged) with a detail line, or an error.
type step func(ctx context.Context) (result, detail string, err error)

func (r *run) execute(ctx context.Context) error {
	stages := []struct {
		name    string
		timeout time.Duration
		fn      step
	}{
		{StageMetadata, 2 * time.Minute, r.metadata},
		{StageConfig, 30 * time.Second, r.config},
		{StageSecrets, 5 * time.Minute, r.secrets},
		{StageRender, time.Minute, r.render},
		{StageUnits, 10 * time.Minute, r.units},
		{StageHealth, healthStageTimeout, r.health},
		{StageSignal, signalStageTimeout, r.signal},
	}
	for _, s := range stages {
		if err := r.stage(ctx, s.name, s.timeout, s.fn); err != nil {
			return r.finish(r.release(ctx, s.name, err))
		}
	}
	return r.finish(nil)
}

// stage runs one step under its own deadline, logs its start and end and
// records it in the state file before and after.
func (r *run) stage(ctx context.Context, name string, timeout time.Duration, fn step) error {
	start := r.o.Now()
	r.st.Stages = append(r.st.Stages, state.Stage{
		Name: name, Result: state.Running, Started: start.UTC(),
	})
	if err := r.save(); err != nil {
		return err
	}
	log := r.log.With("stage", name)
	log.Info("stage started")

	sctx, cancel := context.WithTimeout(ctx, timeout)
	result, detail, err := fn(sctx)
	cancel()
	if err != nil {
		err = explainEnd(ctx, err)
	}

	// The fn may have saved the state, but never appends a stage, so the
	// record is still the last one.
	rec := &r.st.Stages[len(r.st.Stages)-1]
	rec.Duration = r.o.Now().Sub(start)
	rec.Detail = detail
	if err != nil {
		rec.Result = state.Failed
		rec.Error = err.Error()
		log.Error("stage failed", "duration", rec.Duration, "error", err)
		if serr := r.save(); serr != nil {
			return serr
		}
		return &StageError{Stage: name, Err: err}
	}
	rec.Result = result
	attrs := []any{"duration", rec.Duration, "result", result}
	if detail != "" {
		attrs = append(attrs, "detail", detail)
	}
	log.Info("stage finished", attrs...)
	return r.save()
}

// Errors that give the reason a stage ended early.
var (
	// ErrInterrupted marks a stage cut short because the agent was stopped.
	ErrInterrupted = errors.New("interrupted: the agent was stopped by SIGTERM or SIGINT")
	// ErrRunDeadline marks a stage cut short by the run's --timeout.
	ErrRunDeadline = errors.New("the run's deadline (--timeout) passed; raise it if the " +
		"node needs longer")
)

// explainEnd puts the reason first when err came from the run's own
// context ending, which otherwise reads as the stage's failure.
func explainEnd(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: %w", ErrInterrupted, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrRunDeadline, err)
	}
	return err
}

func (r *run) save() error {
	if r.dry {
		return nil
	}
	if err := state.Save(r.o.Root, r.st); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

// finish records the run's verdict and logs the final line.
func (r *run) finish(err error) error {
	r.st.Finished = r.o.Now().UTC()
	r.st.Result = state.OK
	if err != nil {
		r.st.Result = state.Failed
	}
	duration := r.st.Finished.Sub(r.st.Started)
	if errors.Is(err, ErrState) {
		r.log.Error("run failed", "message_id", MessageID, "duration", duration, "error", err)
		return err
	}
	if serr := r.save(); serr != nil {
		r.log.Error("run failed", "message_id", MessageID, "duration", duration, "error", serr)
		return serr
	}
	if err != nil {
		r.log.Error("run failed", "message_id", MessageID, "duration", duration, "error", err)
		return err
	}
	r.log.Info("run finished", "message_id", MessageID, "duration", duration)
	return nil
}
