// Package lifecycle owns the node's Auto Scaling launch lifecycle action. It
// finds the launch hook of the instance's group by instance id, keeps the
// action open with heartbeats while the node is getting healthy, and
// completes it with CONTINUE or ABANDON.
//
// It calls Auto Scaling by instance id only, so it needs no lifecycle action
// token. It never touches a hook of another transition (terminating hooks
// belong to other tools), and it completes an action only when the caller
// asks. Its log lines and errors name the group, the hook and the instance,
// never a credential. Retries use capped exponential backoff with full
// jitter; the caller's client should have the SDK's own retries off, or the
// two multiply.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// Client is the part of the Auto Scaling API the package calls;
// *autoscaling.Client satisfies it.
type Client interface {
	DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput,
		opts ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error)
	DescribeLifecycleHooks(ctx context.Context, in *autoscaling.DescribeLifecycleHooksInput,
		opts ...func(*autoscaling.Options)) (*autoscaling.DescribeLifecycleHooksOutput, error)
	RecordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput,
		opts ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error)
	CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput,
		opts ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
}

// Results of a lifecycle action.
const (
	Continue = "CONTINUE"
	Abandon  = "ABANDON"
)

// launching is the transition of the hooks this package completes.
const launching = "autoscaling:EC2_INSTANCE_LAUNCHING"

// Errors that classify a lookup; test them with errors.Is.
var (
	// ErrNoGroup means Auto Scaling does not list the instance in a group.
	ErrNoGroup = errors.New("instance is not in an Auto Scaling group")
	// ErrNoHook means the group has no launching lifecycle hook.
	ErrNoHook = errors.New("no launching lifecycle hook in the Auto Scaling group")
	// ErrHookExpiring is the cause of the context [Manager.Hold] returns
	// when the action is about to time out on its own.
	ErrHookExpiring = errors.New("lifecycle action is about to time out")
)

// Defaults of [Options].
const (
	DefaultActivationWait  = time.Minute
	DefaultCompleteTimeout = 2 * time.Minute
)

// Options configures a [Manager].
type Options struct {
	// Logger receives retries, heartbeat failures and lookups; nil discards.
	Logger *slog.Logger
	// ActivationWait bounds how long the package retries an answer that
	// the instance or its action is not there yet, which Auto Scaling
	// returns for a short while after a launch.
	ActivationWait time.Duration
	// CompleteTimeout bounds CompleteLifecycleAction with its retries.
	CompleteTimeout time.Duration
}

// Manager finds, holds and completes the launch action of one instance.
type Manager struct {
	client     Client
	instanceID string
	log        *slog.Logger
	opts       Options
	// delay is the wait before the retry after an attempt; tests shorten it.
	delay func(attempt int) time.Duration
}

// New returns a Manager for the instance id that calls Auto Scaling through c.
func New(c Client, instanceID string, o Options) *Manager {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ActivationWait <= 0 {
		o.ActivationWait = DefaultActivationWait
	}
	if o.CompleteTimeout <= 0 {
		o.CompleteTimeout = DefaultCompleteTimeout
	}
	return &Manager{client: c, instanceID: instanceID, log: o.Logger, opts: o, delay: fullJitter}
}

// Action is the launch action of the instance: its group and hook.
type Action struct {
	Group, Hook string
	// State is the instance's lifecycle state when it was found, such as
	// "Pending:Wait" or "Warmed:Pending:Wait".
	State string
	// HeartbeatTimeout is how long the action stays open without a
	// heartbeat, and GlobalTimeout how long it stays open at most.
	HeartbeatTimeout, GlobalTimeout time.Duration
	// DefaultResult is what Auto Scaling applies when the action times out.
	DefaultResult string
}

// Open reports whether the instance is in a launch state that a hook holds
// or will hold: Pending or Pending:Wait, warm pool or not. An instance
// already InService after a reboot has no action to complete.
func (a Action) Open() bool {
	s := strings.TrimPrefix(a.State, "Warmed:")
	return s == "Pending" || s == "Pending:Wait"
}

// Find looks up the instance's group and the launching hook named hookName,
// or the group's only launching hook when hookName is empty. It returns
// [ErrNoGroup] when Auto Scaling does not list the instance within the
// activation wait, and [ErrNoHook] when the group has no launching hook.
func (m *Manager) Find(ctx context.Context, hookName string) (Action, error) {
	group, state, err := m.group(ctx)
	if err != nil {
		return Action{}, err
	}
	act, err := m.hook(ctx, group, hookName)
	act.State = state
	return act, err
}

// group returns the instance's group and lifecycle state.
func (m *Manager) group(ctx context.Context) (string, string, error) {
	in := &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{m.instanceID}}
	var out *autoscaling.DescribeAutoScalingInstancesOutput
	err := m.retry(ctx, "DescribeAutoScalingInstances", true, func(ctx context.Context) error {
		var err error
		out, err = m.client.DescribeAutoScalingInstances(ctx, in)
		if err == nil && len(out.AutoScalingInstances) == 0 {
			return errNotListed
		}
		return err
	})
	if errors.Is(err, errNotListed) {
		return "", "", fmt.Errorf("%w: DescribeAutoScalingInstances does not list %s",
			ErrNoGroup, m.instanceID)
	}
	if err != nil {
		return "", "", fmt.Errorf("DescribeAutoScalingInstances for %s: %w", m.instanceID, err)
	}
	details := out.AutoScalingInstances[0]
	return aws.ToString(details.AutoScalingGroupName), aws.ToString(details.LifecycleState), nil
}

// hook picks the launching hook of group.
func (m *Manager) hook(ctx context.Context, group, name string) (Action, error) {
	in := &autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String(group)}
	if name != "" {
		in.LifecycleHookNames = []string{name}
	}
	var out *autoscaling.DescribeLifecycleHooksOutput
	err := m.retry(ctx, "DescribeLifecycleHooks", false, func(ctx context.Context) error {
		var err error
		out, err = m.client.DescribeLifecycleHooks(ctx, in)
		return err
	})
	if err != nil {
		return Action{Group: group}, fmt.Errorf("DescribeLifecycleHooks for group %s: %w", group, err)
	}
	var hooks []types.LifecycleHook
	for _, h := range out.LifecycleHooks {
		if aws.ToString(h.LifecycleTransition) == launching {
			hooks = append(hooks, h)
		}
	}
	return pickHook(group, name, hooks)
}

// pickHook chooses among the launching hooks of group.
func pickHook(group, name string, hooks []types.LifecycleHook) (Action, error) {
	act := Action{Group: group}
	switch {
	case len(hooks) == 0 && name != "":
		return act, fmt.Errorf("lifecycle hook %q not found among the launching hooks of group %s: "+
			"check lifecycle.hook, or leave it empty to use the group's launching hook", name, group)
	case len(hooks) == 0:
		return act, fmt.Errorf("%w: group %s", ErrNoHook, group)
	case len(hooks) > 1:
		var names []string
		for _, h := range hooks {
			names = append(names, aws.ToString(h.LifecycleHookName))
		}
		slices.Sort(names)
		return act, fmt.Errorf("group %s has %d launching lifecycle hooks (%s): set lifecycle.hook "+
			"to the one this agent completes", group, len(hooks), strings.Join(names, ", "))
	}
	h := hooks[0]
	act.Hook = aws.ToString(h.LifecycleHookName)
	act.HeartbeatTimeout = time.Duration(aws.ToInt32(h.HeartbeatTimeout)) * time.Second
	act.GlobalTimeout = time.Duration(aws.ToInt32(h.GlobalTimeout)) * time.Second
	act.DefaultResult = aws.ToString(h.DefaultResult)
	return act, nil
}

// Complete sends result, [Continue] or [Abandon], for act. It runs on
// context.WithoutCancel(ctx) under its own timeout, so it still releases
// the hook when the run was cancelled by SIGTERM or its deadline.
func (m *Manager) Complete(ctx context.Context, act Action, result string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.CompleteTimeout)
	defer cancel()
	in := &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName:  aws.String(act.Group),
		LifecycleHookName:     aws.String(act.Hook),
		InstanceId:            aws.String(m.instanceID),
		LifecycleActionResult: aws.String(result),
	}
	err := m.retry(ctx, "CompleteLifecycleAction", true, func(ctx context.Context) error {
		_, err := m.client.CompleteLifecycleAction(ctx, in)
		return err
	})
	if err != nil {
		return fmt.Errorf("CompleteLifecycleAction %s for hook %s of group %s: %w",
			result, act.Hook, act.Group, err)
	}
	return nil
}
