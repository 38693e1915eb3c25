package lifecycle

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// Bounds of the heartbeat interval.
const (
	minInterval = time.Second
	// defaultHeartbeatTimeout is the API's default, used when a hook
	// reports none.
	defaultHeartbeatTimeout = time.Hour
	// maxReserve caps the time kept before the action's timeout for the
	// completion to reach Auto Scaling.
	maxReserve = 30 * time.Second
)

// Interval returns the heartbeat interval for act: configured when set,
// capped at half the heartbeat timeout so that one lost heartbeat does not
// let the action time out, and a third of the heartbeat timeout otherwise.
// It is never below one second.
func Interval(act Action, configured time.Duration) time.Duration {
	timeout := heartbeatTimeout(act)
	interval := timeout / 3
	if configured > 0 {
		interval = min(configured, timeout/2)
	}
	return max(interval, minInterval)
}

func heartbeatTimeout(act Action) time.Duration {
	if act.HeartbeatTimeout <= 0 {
		return defaultHeartbeatTimeout
	}
	return act.HeartbeatTimeout
}

// reserve is the time kept before the action's own timeout, so that the
// completion reaches Auto Scaling first: a quarter of the heartbeat timeout,
// at most 30 s.
func reserve(act Action) time.Duration {
	return min(maxReserve, heartbeatTimeout(act)/4)
}

// Hold sends a heartbeat for act at once and then every interval until
// stop is called; stop returns the number of heartbeats Auto Scaling
// accepted. The returned context ends with cause [ErrHookExpiring] when
// the action would time out on its own before a completion could reach
// Auto Scaling: the reserve before HeartbeatTimeout after the last accepted
// heartbeat (or Hold's start), or before GlobalTimeout after Hold's start.
//
// NOTE: the action starts at launch, before this agent runs, so the global
// limit counted from Hold's start is late by the boot time.
//
// A heartbeat answered "No active Lifecycle Action found" is skipped until
// the next tick. A throttled heartbeat, or one that meets a server or
// transport error, is retried until it goes through or the context ends.
// Any other failure stops the heartbeats, and the context then ends before
// the heartbeat timeout runs out.
func (m *Manager) Hold(ctx context.Context, act Action, interval time.Duration) (
	context.Context, func() int) {
	hctx, cancel := context.WithCancelCause(ctx)
	start := time.Now()
	limit := start.Add(act.GlobalTimeout - reserve(act))
	if act.GlobalTimeout <= 0 {
		limit = start.Add(100*heartbeatTimeout(act) - reserve(act))
	}
	remaining := func(last time.Time) time.Duration {
		end := last.Add(heartbeatTimeout(act) - reserve(act))
		if limit.Before(end) {
			end = limit
		}
		return time.Until(end)
	}
	timer := time.AfterFunc(remaining(start), func() { cancel(ErrHookExpiring) })

	bctx, stopBeats := context.WithCancel(hctx)
	done := make(chan int, 1)
	go func() {
		done <- m.beat(bctx, act, interval, func(at time.Time) { timer.Reset(remaining(at)) })
	}()
	stop := func() int {
		stopBeats()
		n := <-done
		timer.Stop()
		cancel(context.Canceled)
		return n
	}
	return hctx, stop
}

// beat sends heartbeats until ctx ends or one fails for good, calls
// accepted with the send time of each accepted one, and returns how many
// were accepted.
func (m *Manager) beat(ctx context.Context, act Action, interval time.Duration,
	accepted func(time.Time)) int {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	sent := 0
	for {
		at := time.Now()
		err := m.heartbeat(ctx, act)
		switch {
		case err == nil:
			sent++
			accepted(at)
		case ctx.Err() != nil:
			return sent
		case isNotYet(err):
			m.log.Info("lifecycle action not active yet, heartbeat skipped",
				"group", act.Group, "hook", act.Hook, "error", err)
		default:
			m.log.Error("lifecycle heartbeat failed, heartbeats stopped",
				"group", act.Group, "hook", act.Hook, "error", err)
			return sent
		}
		select {
		case <-ctx.Done():
			return sent
		case <-ticker.C:
		}
	}
}

func (m *Manager) heartbeat(ctx context.Context, act Action) error {
	in := &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(act.Group),
		LifecycleHookName:    aws.String(act.Hook),
		InstanceId:           aws.String(m.instanceID),
	}
	return m.retry(ctx, "RecordLifecycleActionHeartbeat", false, func(ctx context.Context) error {
		_, err := m.client.RecordLifecycleActionHeartbeat(ctx, in)
		return err
	})
}
