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
	// signalLookupTimeout bounds the signal stage's lookup of an action
	// the health stage did not find, retries included.
	signalLookupTimeout = 2 * time.Minute
)

// errHealthDone is the cause that ends a lookup still running when the
// health checks are over; the signal stage then looks again.
var errHealthDone = errors.New("health stage ended")

// Outcomes of the signal stage, at the start of its detail in state.json.
const (
	outcomeContinue = lifecycle.Continue
	outcomeAbandon  = lifecycle.Abandon
	outcomeHold     = "hold"
	outcomeNone     = "no lifecycle action"
)

// hookState carries the lifecycle action from the health stage to the
// signal stage. Only a lookup that succeeded is kept: after a failed one,
// looked stays false and the signal stage looks again.
type hookState struct {
	looked bool
	act    lifecycle.Action
	// none says why there is no action to complete, when there is none.
	none       string
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
	wctx, stop := r.holdAction(wctx)
	defer stop()
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

// holdAction looks the launch action up while the health checks run on the
// returned context, and once it is found keeps it open with heartbeats. The
// context ends with ctx, or with lifecycle.ErrHookExpiring when the action
// is about to time out. A lookup that fails, or is still retrying a
// throttled Auto Scaling API when the checks are over, is logged and left
// to the signal stage: it does not fail a healthy node. stop ends the
// lookup and the heartbeats; r.hook may be read only after it returns.
func (r *run) holdAction(ctx context.Context) (context.Context, func()) {
	hctx, cancel := context.WithCancelCause(ctx)
	done := make(chan func() int, 1)
	go func() { done <- r.startHold(hctx, cancel) }()
	stop := func() {
		cancel(errHealthDone)
		if stopHold := <-done; stopHold != nil {
			r.hook.heartbeats = stopHold()
		}
	}
	return hctx, stop
}

// startHold looks the action up and starts its heartbeats on ctx. When the
// heartbeats' context ends first, it ends ctx with the same cause through
// cancel. It returns the heartbeats' stop, or nil when none started.
func (r *run) startHold(ctx context.Context, cancel context.CancelCauseFunc) func() int {
	if err := r.lookUpAction(ctx); err != nil {
		r.log.Warn("lifecycle action lookup failed, heartbeats skipped", "error", err,
			"next", "the signal stage looks the action up again")
		return nil
	}
	if r.hook.none != "" {
		return nil
	}
	interval := lifecycle.Interval(r.hook.act, r.res.config.Lifecycle.HeartbeatInterval.Duration)
	hold, stop := r.manager().Hold(ctx, r.hook.act, interval)
	context.AfterFunc(hold, func() { cancel(context.Cause(hold)) })
	return stop
}

func (r *run) manager() *lifecycle.Manager {
	return lifecycle.New(r.o.Lifecycle.AutoScaling, r.res.instance.InstanceID, lifecycle.Options{
		Logger:          r.log,
		ActivationWait:  r.o.Lifecycle.ActivationWait,
		CompleteTimeout: r.o.Lifecycle.CompleteTimeout,
	})
}

// lookUpAction finds the instance's launch action and stores the result in
// r.hook. Once one lookup succeeded, later calls return at once. An instance
// outside a group, a group without a launching hook and an instance already
// in service have none, which is not an error.
func (r *run) lookUpAction(ctx context.Context) error {
	if r.hook.looked {
		return nil
	}
	act, none, err := r.findAction(ctx)
	if err != nil {
		return err
	}
	r.hook.looked, r.hook.act, r.hook.none = true, act, none
	return nil
}

// findAction returns the instance's open launch action, or why it has none.
func (r *run) findAction(ctx context.Context) (lifecycle.Action, string, error) {
	inst := r.res.instance
	if inst.TargetLifecycleState == "" {
		return lifecycle.Action{}, "not in an Auto Scaling group (IMDS has no target lifecycle state)", nil
	}
	if r.o.Lifecycle.AutoScaling == nil {
		return lifecycle.Action{}, "", errors.New("lifecycle hook: no Auto Scaling client configured")
	}
	act, err := r.manager().Find(ctx, r.res.config.Lifecycle.Hook)
	switch {
	case errors.Is(err, lifecycle.ErrNoGroup), errors.Is(err, lifecycle.ErrNoHook):
		return lifecycle.Action{}, err.Error(), nil
	case err != nil:
		return lifecycle.Action{}, "", fmt.Errorf("lifecycle hook: %w", err)
	case !act.Open():
		return lifecycle.Action{}, fmt.Sprintf("instance is %s in group %s", act.State, act.Group), nil
	}
	return act, "", nil
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
// deadline do not keep the hook from being released. When the health stage
// did not find the action, settle looks it up again, within
// signalLookupTimeout.
func (r *run) settle(ctx context.Context, cause error) (string, string, error) {
	r.hook.released = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), signalStageTimeout)
	defer cancel()
	lctx, lcancel := context.WithTimeout(ctx, signalLookupTimeout)
	err := r.lookUpAction(lctx)
	lcancel()
	if err != nil {
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
