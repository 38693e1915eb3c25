package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/lifecycle"
	"github.com/hashistack/bootstrap/internal/render"
	"github.com/hashistack/bootstrap/internal/secrets"
	"github.com/hashistack/bootstrap/internal/state"
)

// LifecycleOptions holds the clients the health and signal stages use.
type LifecycleOptions struct {
	// AutoScaling calls the Auto Scaling API. Nil fails the signal stage of
	// an instance that IMDS places in an Auto Scaling group.
	AutoScaling lifecycle.Client
	// HTTP queries the agents' health APIs; nil is http.DefaultClient.
	HTTP *http.Client
	// ActivationWait and CompleteTimeout override the lifecycle package's
	// defaults when set; tests shorten them.
	ActivationWait, CompleteTimeout time.Duration
}

// Stage limits of health and signal. The health stage ends earlier, at
// lifecycle.max_wait, the hook's own timeout or the run's deadline less
// signalReserve, whichever comes first.
const (
	healthStageTimeout = 48 * time.Hour
	signalStageTimeout = 5 * time.Minute
	// signalReserve is kept from the run's deadline for the signal stage.
	signalReserve = 30 * time.Second
)

// Outcomes of the signal stage, at the start of its detail in state.json.
const (
	outcomeContinue = lifecycle.Continue
	outcomeAbandon  = lifecycle.Abandon
	outcomeHold     = "hold"
	outcomeNone     = "no lifecycle action"
)

// hookState carries the lifecycle action from the health stage to the
// signal stage.
type hookState struct {
	looked bool
	act    lifecycle.Action
	// none says why there is no action to complete, when there is none.
	none       string
	err        error
	heartbeats int
	released   bool
}

func (r *run) health(ctx context.Context) (string, string, error) {
	if warm(r.res.instance) {
		return state.Skipped, "warm pool (" + r.res.instance.TargetLifecycleState +
			"): health not checked", nil
	}
	targets, err := r.healthTargets()
	if err != nil {
		return "", "", err
	}
	client, err := r.healthClient()
	if err != nil {
		return "", "", err
	}
	wctx, cancel := context.WithTimeout(ctx, r.healthWait(ctx))
	defer cancel()
	if err := r.lookUpAction(wctx); err != nil {
		return "", "", err
	}
	if r.hook.none == "" {
		var stop func() int
		interval := lifecycle.Interval(r.hook.act, r.res.config.Lifecycle.HeartbeatInterval.Duration)
		wctx, stop = r.manager().Hold(wctx, r.hook.act, interval)
		defer func() { r.hook.heartbeats = stop() }()
	}
	statuses, err := health.Wait(wctx, client, targets, r.log, nil)
	if err != nil {
		return "", "", err
	}
	var parts []string
	for _, s := range statuses {
		parts = append(parts, s.Name+": "+s.Reason)
	}
	return state.OK, strings.Join(parts, "; "), nil
}

// healthWait is lifecycle.max_wait, shortened so that the signal stage
// still has signalReserve before the run's deadline.
func (r *run) healthWait(ctx context.Context) time.Duration {
	wait := r.res.config.Lifecycle.MaxWait.Duration
	if deadline, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(deadline)-signalReserve)
	}
	return wait
}

// healthTargets builds the role's checks with the addresses the agents
// listen on. Consul checks send the agent token the secrets stage wrote.
func (r *run) healthTargets() ([]health.Target, error) {
	bind, _, client, err := render.Addresses(r.res.config.Network)
	if err != nil {
		return nil, err
	}
	return health.Targets(r.res.role, r.res.config, bind, client,
		secrets.ConsulAgentToken(r.o.Root)), nil
}

func (r *run) manager() *lifecycle.Manager {
	return lifecycle.New(r.o.Lifecycle.AutoScaling, r.res.instance.InstanceID, lifecycle.Options{
		Logger:          r.log,
		ActivationWait:  r.o.Lifecycle.ActivationWait,
		CompleteTimeout: r.o.Lifecycle.CompleteTimeout,
	})
}

// lookUpAction finds the instance's launch action once per run and keeps
// the answer in r.hook. An instance outside a group, a group without a
// launching hook and an instance already in service have none, which is not
// an error.
func (r *run) lookUpAction(ctx context.Context) error {
	if r.hook.looked {
		return r.hook.err
	}
	r.hook.looked = true
	inst := r.res.instance
	if inst.TargetLifecycleState == "" {
		r.hook.none = "not in an Auto Scaling group (IMDS has no target lifecycle state)"
		return nil
	}
	if r.o.Lifecycle.AutoScaling == nil {
		r.hook.err = errors.New("no Auto Scaling client configured")
		return r.hook.err
	}
	act, err := r.manager().Find(ctx, r.res.config.Lifecycle.Hook)
	switch {
	case errors.Is(err, lifecycle.ErrNoGroup), errors.Is(err, lifecycle.ErrNoHook):
		r.hook.none = err.Error()
	case err != nil:
		r.hook.err = fmt.Errorf("lifecycle hook: %w", err)
	case !act.Open():
		r.hook.none = fmt.Sprintf("instance is %s in group %s", act.State, act.Group)
	default:
		r.hook.act = act
	}
	return r.hook.err
}

func (r *run) signal(ctx context.Context) (string, string, error) {
	return r.settle(ctx, nil)
}

// release runs the signal stage after stage failed with cause, so a node
// that cannot become healthy is abandoned (or held) at once rather than
// when its hook times out. It returns cause, joined with the signal
// stage's error if that failed too.
func (r *run) release(ctx context.Context, stage string, cause error) error {
	if stage == StageSignal || stage == StageMetadata || r.hook.released {
		// Without the instance id there is no action to name.
		return cause
	}
	if errors.Is(cause, ErrState) {
		// The state file cannot record a stage: settle without one.
		_, _, err := r.settle(ctx, cause)
		return joinLine(cause, err)
	}
	fn := func(ctx context.Context) (string, string, error) { return r.settle(ctx, cause) }
	if err := r.stage(ctx, StageSignal, signalStageTimeout, fn); err != nil {
		return joinLine(cause, err)
	}
	return cause
}

// joinLine keeps both errors, the stage's cause first, on one line: the
// agent's verdict is one line on stderr and in the journal.
func joinLine(cause, err error) error {
	if err == nil {
		return cause
	}
	return fmt.Errorf("%w; and %w", cause, err)
}

// settle completes, holds or skips the launch action after a run that
// succeeded (cause nil) or failed, and logs the outcome in one line. It
// works on a context that ignores ctx's cancel, so SIGTERM and the run's
// deadline do not keep the hook from being released.
func (r *run) settle(ctx context.Context, cause error) (string, string, error) {
	r.hook.released = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), signalStageTimeout)
	defer cancel()
	if err := r.lookUpAction(ctx); err != nil {
		return "", "", err
	}
	if r.hook.none != "" {
		r.st.Lifecycle = &state.Lifecycle{Outcome: outcomeNone, Reason: r.hook.none}
		r.log.Info("lifecycle action not needed", "outcome", outcomeNone, "reason", r.hook.none)
		return state.Skipped, outcomeNone + ": " + r.hook.none, nil
	}
	act := r.hook.act
	attrs := []any{"group", act.Group, "hook", act.Hook, "lifecycle_state", act.State,
		"heartbeats", r.hook.heartbeats}
	record := &state.Lifecycle{Group: act.Group, Hook: act.Hook, LifecycleState: act.State,
		Heartbeats: r.hook.heartbeats}
	if cause != nil && r.onFailure() == "hold" {
		record.Outcome = outcomeHold
		r.st.Lifecycle = record
		r.log.Warn("lifecycle action held for an operator", append(attrs, "outcome", outcomeHold,
			"default_result", act.DefaultResult, "heartbeat_timeout", act.HeartbeatTimeout)...)
		return state.OK, fmt.Sprintf("%s: hook %s of group %s left open for an operator; "+
			"without a heartbeat it ends with %s after %s", outcomeHold, act.Hook, act.Group,
			act.DefaultResult, act.HeartbeatTimeout), nil
	}
	result := outcomeContinue
	if cause != nil {
		result = outcomeAbandon
	}
	if err := r.manager().Complete(ctx, act, result); err != nil {
		return "", "", err
	}
	record.Outcome = result
	r.st.Lifecycle = record
	r.log.Info("lifecycle action completed", append(attrs, "outcome", result)...)
	return state.OK, fmt.Sprintf("%s sent for hook %s of group %s (%s, %d heartbeats)",
		result, act.Hook, act.Group, act.State, r.hook.heartbeats), nil
}

// onFailure is lifecycle.on_failure, or abandon when the config stage did
// not finish.
func (r *run) onFailure() string {
	if r.res.config.Lifecycle.OnFailure == "" {
		return "abandon"
	}
	return r.res.config.Lifecycle.OnFailure
}
