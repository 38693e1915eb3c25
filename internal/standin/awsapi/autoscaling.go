package awsapi

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

const autoScalingNamespace = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// Lifecycle transitions and results, as the Auto Scaling API spells them.
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
	ResultContinue        = "CONTINUE"
	ResultAbandon         = "ABANDON"
)

// Limits from the Auto Scaling API reference.
const (
	maxDescribeInstances = 50
	// maxGlobalTimeout is the cap on a lifecycle action: 100 heartbeat
	// timeouts or 48 hours, whichever is shorter.
	maxGlobalTimeout = 48 * time.Hour
)

// Hook is one lifecycle hook of a group.
type Hook struct {
	Name       string
	Transition string
	// HeartbeatTimeout is how long an action stays open without a
	// heartbeat; zero means the API's default of one hour.
	HeartbeatTimeout time.Duration
	// DefaultResult is applied when the action times out; empty means
	// ABANDON, the API's default.
	DefaultResult string
}

// Group is one Auto Scaling group and its hooks.
type Group struct {
	Name  string
	Hooks []Hook
}

// Launch describes how an instance enters a group.
type Launch struct {
	// Warm puts the instance into the group's warm pool rather than in
	// service, so its state reads Warmed:Pending.
	Warm bool
	// InactiveCalls is how many heartbeat or completion calls are answered
	// "No active Lifecycle Action found" before the launch action becomes
	// active, as happens right after a launch.
	InactiveCalls int
}

// Completion is one launch action that ended, by a call or by a timeout.
type Completion struct {
	Hook   string
	Result string
	// TimedOut marks an action that ended with the hook's default result
	// because no heartbeat or completion arrived in time.
	TimedOut bool
}

// InstanceStatus is what the stand-in holds about one instance.
type InstanceStatus struct {
	Group          string
	LifecycleState string
	Heartbeats     int
	Completions    []Completion
}

// AutoScaling is an Auto Scaling stand-in that keeps the lifecycle state of
// each instance: launching hooks open an action that heartbeats extend and
// CompleteLifecycleAction or a timeout ends.
type AutoScaling struct {
	*Server

	mu        sync.Mutex
	groups    map[string]Group
	instances map[string]*asInstance
}

// asInstance is one instance's lifecycle state.
type asInstance struct {
	InstanceStatus
	warm bool
	// open lists the launching hooks whose action is still open.
	open     []string
	inactive int
	// expires is when the open action times out without a heartbeat, and
	// deadline when it times out whatever the heartbeats.
	expires, deadline time.Time
}

// NewAutoScaling starts an Auto Scaling stand-in serving groups on
// 127.0.0.1 and stops it when the test ends. Instances enter with
// [AutoScaling.Launch].
func NewAutoScaling(t testing.TB, opts Options, groups ...Group) *AutoScaling {
	t.Helper()
	a := ServeAutoScaling(opts, groups...)
	t.Cleanup(a.Close)
	return a
}

// ServeAutoScaling starts an Auto Scaling stand-in for a caller that is not
// a test, such as the demo; Close stops it.
func ServeAutoScaling(opts Options, groups ...Group) *AutoScaling {
	a := &AutoScaling{groups: map[string]Group{}, instances: map[string]*asInstance{}}
	for _, g := range groups {
		a.groups[g.Name] = g
	}
	a.Server = Serve(a.service(), opts)
	return a
}

func (a *AutoScaling) service() Service {
	return Service{
		SigningName: "autoscaling",
		Namespace:   autoScalingNamespace,
		Errors:      QueryErrors,
		Throttle:    &Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		Actions: map[string]Handler{
			"DescribeAutoScalingInstances":   a.describeInstances,
			"DescribeLifecycleHooks":         a.describeHooks,
			"RecordLifecycleActionHeartbeat": a.heartbeat,
			"CompleteLifecycleAction":        a.complete,
		},
	}
}

// Launch adds the instance id to group. A group with launching hooks holds
// it in Pending (Warmed:Pending) until the action is active, then in
// Pending:Wait (Warmed:Pending:Wait); a group without goes straight to
// InService (Warmed:Stopped).
func (a *AutoScaling) Launch(id, group string, l Launch) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := &asInstance{InstanceStatus: InstanceStatus{Group: group}, warm: l.Warm}
	a.instances[id] = in
	a.openLaunch(in, l.InactiveCalls)
}

// LeaveWarmPool starts a warmed instance toward InService, which fires the
// group's launching hooks a second time.
func (a *AutoScaling) LeaveWarmPool(id string, inactiveCalls int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := a.instances[id]
	in.warm = false
	a.openLaunch(in, inactiveCalls)
}

// Status returns what the stand-in holds about instance id.
func (a *AutoScaling) Status(id string) InstanceStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[id]
	if !ok {
		return InstanceStatus{}
	}
	a.expire(in)
	s := in.InstanceStatus
	s.Completions = slices.Clone(s.Completions)
	return s
}

func (a *AutoScaling) openLaunch(in *asInstance, inactive int) {
	in.open = nil
	for _, h := range a.groups[in.Group].Hooks {
		if h.Transition == TransitionLaunching {
			in.open = append(in.open, h.Name)
		}
	}
	if len(in.open) == 0 {
		in.LifecycleState = in.prefix() + "InService"
		if in.warm {
			in.LifecycleState = "Warmed:Stopped"
		}
		return
	}
	in.LifecycleState = in.prefix() + "Pending"
	in.inactive = inactive
	if inactive == 0 {
		a.activate(in)
	}
}

func (in *asInstance) prefix() string {
	if in.warm {
		return "Warmed:"
	}
	return ""
}

// activate makes the launch action active: Pending:Wait, with its timeouts
// counted from now.
func (a *AutoScaling) activate(in *asInstance) {
	in.LifecycleState = in.prefix() + "Pending:Wait"
	hook := a.hook(in.Group, in.open[0])
	now := a.opts.Now()
	in.expires = now.Add(hook.heartbeatTimeout())
	in.deadline = now.Add(hook.globalTimeout())
}

func (a *AutoScaling) hook(group, name string) Hook {
	for _, h := range a.groups[group].Hooks {
		if h.Name == name {
			return h
		}
	}
	return Hook{}
}

func (h Hook) heartbeatTimeout() time.Duration {
	if h.HeartbeatTimeout == 0 {
		return time.Hour
	}
	return h.HeartbeatTimeout
}

func (h Hook) globalTimeout() time.Duration {
	return min(100*h.heartbeatTimeout(), maxGlobalTimeout)
}

func (h Hook) defaultResult() string {
	if h.DefaultResult == "" {
		return ResultAbandon
	}
	return h.DefaultResult
}

// expire ends an open action whose timeout passed with the hook's default
// result, as Auto Scaling does.
func (a *AutoScaling) expire(in *asInstance) {
	if !in.waiting() {
		return
	}
	now := a.opts.Now()
	if now.Before(in.expires) && now.Before(in.deadline) {
		return
	}
	hook := a.hook(in.Group, in.open[0])
	in.Completions = append(in.Completions,
		Completion{Hook: hook.Name, Result: hook.defaultResult(), TimedOut: true})
	a.finish(in, hook.Name, hook.defaultResult())
}

func (in *asInstance) waiting() bool {
	return in.LifecycleState == in.prefix()+"Pending:Wait"
}

// finish ends the action of hook with result and moves the instance on.
func (a *AutoScaling) finish(in *asInstance, hook, result string) {
	if result == ResultAbandon {
		in.open = nil
		in.LifecycleState = in.prefix() + "Terminating"
		return
	}
	in.open = slices.DeleteFunc(in.open, func(h string) bool { return h == hook })
	if len(in.open) > 0 {
		a.activate(in)
		return
	}
	in.LifecycleState = "InService"
	if in.warm {
		in.LifecycleState = "Warmed:Stopped"
	}
}

type instanceDetails struct {
	InstanceID           string `xml:"InstanceId"`
	AutoScalingGroupName string `xml:"AutoScalingGroupName"`
	AvailabilityZone     string `xml:"AvailabilityZone"`
	LifecycleState       string `xml:"LifecycleState"`
	HealthStatus         string `xml:"HealthStatus"`
	ProtectedFromScaleIn bool   `xml:"ProtectedFromScaleIn"`
}

type describeInstancesResponse struct {
	XMLName   xml.Name          `xml:"DescribeAutoScalingInstancesResponse"`
	Namespace string            `xml:"xmlns,attr"`
	Instances []instanceDetails `xml:"DescribeAutoScalingInstancesResult>AutoScalingInstances>member"`
	RequestID string            `xml:"ResponseMetadata>RequestId"`
}

// describeInstances lists the requested instances that are in a group;
// unknown ids are left out, not an error, as in the real API.
func (a *AutoScaling) describeInstances(_ *Server, params url.Values) (any, *Error) {
	ids := indexedValues(params, "InstanceIds.member.")
	if len(ids) > maxDescribeInstances {
		return nil, validationError("The number of instance ids that may be passed in is %d.",
			maxDescribeInstances)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := describeInstancesResponse{Namespace: autoScalingNamespace, RequestID: requestID()}
	for _, id := range ids {
		in, ok := a.instances[id]
		if !ok {
			continue
		}
		a.expire(in)
		resp.Instances = append(resp.Instances, instanceDetails{
			InstanceID: id, AutoScalingGroupName: in.Group, AvailabilityZone: a.opts.Region + "a",
			LifecycleState: in.LifecycleState, HealthStatus: "HEALTHY",
		})
	}
	return resp, nil
}

type hookDetails struct {
	LifecycleHookName    string `xml:"LifecycleHookName"`
	AutoScalingGroupName string `xml:"AutoScalingGroupName"`
	LifecycleTransition  string `xml:"LifecycleTransition"`
	HeartbeatTimeout     int    `xml:"HeartbeatTimeout"`
	GlobalTimeout        int    `xml:"GlobalTimeout"`
	DefaultResult        string `xml:"DefaultResult"`
}

type describeHooksResponse struct {
	XMLName   xml.Name      `xml:"DescribeLifecycleHooksResponse"`
	Namespace string        `xml:"xmlns,attr"`
	Hooks     []hookDetails `xml:"DescribeLifecycleHooksResult>LifecycleHooks>member"`
	RequestID string        `xml:"ResponseMetadata>RequestId"`
}

func (a *AutoScaling) describeHooks(_ *Server, params url.Values) (any, *Error) {
	name := params.Get("AutoScalingGroupName")
	if name == "" {
		return nil, notNull("autoScalingGroupName")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	group, ok := a.groups[name]
	if !ok {
		return nil, groupNotFound(name)
	}
	wanted := indexedValues(params, "LifecycleHookNames.member.")
	resp := describeHooksResponse{Namespace: autoScalingNamespace, RequestID: requestID()}
	for _, h := range group.Hooks {
		if len(wanted) > 0 && !slices.Contains(wanted, h.Name) {
			continue
		}
		resp.Hooks = append(resp.Hooks, hookDetails{
			LifecycleHookName: h.Name, AutoScalingGroupName: name,
			LifecycleTransition: h.Transition,
			HeartbeatTimeout:    int(h.heartbeatTimeout().Seconds()),
			GlobalTimeout:       int(h.globalTimeout().Seconds()),
			DefaultResult:       h.defaultResult(),
		})
	}
	return resp, nil
}

// emptyResponse is the response of an action whose result has no members.
type emptyResponse struct {
	XMLName   xml.Name
	Namespace string `xml:"xmlns,attr"`
	Result    struct {
		XMLName xml.Name
	}
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func newEmptyResponse(action string) emptyResponse {
	r := emptyResponse{XMLName: xml.Name{Local: action + "Response"},
		Namespace: autoScalingNamespace, RequestID: requestID()}
	r.Result.XMLName = xml.Name{Local: action + "Result"}
	return r
}

func (a *AutoScaling) heartbeat(_ *Server, params url.Values) (any, *Error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, hook, apiErr := a.openAction(params)
	if apiErr != nil {
		return nil, apiErr
	}
	in.Heartbeats++
	in.expires = a.opts.Now().Add(a.hook(in.Group, hook).heartbeatTimeout())
	return newEmptyResponse("RecordLifecycleActionHeartbeat"), nil
}

func (a *AutoScaling) complete(_ *Server, params url.Values) (any, *Error) {
	result := params.Get("LifecycleActionResult")
	if result == "" {
		return nil, notNull("lifecycleActionResult")
	}
	if result != ResultContinue && result != ResultAbandon {
		return nil, validationError("Invalid value for LifecycleActionResult: %s. "+
			"Valid values are CONTINUE and ABANDON.", result)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	in, hook, apiErr := a.openAction(params)
	if apiErr != nil {
		return nil, apiErr
	}
	in.Completions = append(in.Completions, Completion{Hook: hook, Result: result})
	a.finish(in, hook, result)
	return newEmptyResponse("CompleteLifecycleAction"), nil
}

// openAction checks the parameters of a heartbeat or completion and finds
// the active action they name. The caller holds a.mu.
func (a *AutoScaling) openAction(params url.Values) (*asInstance, string, *Error) {
	group, hook := params.Get("AutoScalingGroupName"), params.Get("LifecycleHookName")
	id, token := params.Get("InstanceId"), params.Get("LifecycleActionToken")
	switch {
	case group == "":
		return nil, "", notNull("autoScalingGroupName")
	case hook == "":
		return nil, "", notNull("lifecycleHookName")
	case id == "" && token == "":
		return nil, "", validationError("Either InstanceId or LifecycleActionToken must be specified")
	case id == "":
		// NOTE: the stand-in issues no tokens: every caller uses the
		// instance id, which needs none.
		return nil, "", validationError("No active Lifecycle Action found with token %s", token)
	}
	if _, ok := a.groups[group]; !ok {
		return nil, "", groupNotFound(group)
	}
	in, ok := a.instances[id]
	if !ok || in.Group != group {
		return nil, "", noActiveAction(id)
	}
	if in.inactive > 0 {
		in.inactive--
		if in.inactive == 0 {
			a.activate(in)
		}
		return nil, "", noActiveAction(id)
	}
	a.expire(in)
	if !in.waiting() || !slices.Contains(in.open, hook) {
		return nil, "", noActiveAction(id)
	}
	return in, hook, nil
}

func noActiveAction(id string) *Error {
	return validationError("No active Lifecycle Action found with instance ID %s", id)
}

// groupNotFound is the error for an unknown group.
//
// NOTE: the wording follows messages seen from the real API, which the API
// reference does not list; clients should match the ValidationError code.
func groupNotFound(name string) *Error {
	return validationError("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
}

func notNull(member string) *Error {
	return validationError("1 validation error detected: Value null at '%s' failed to satisfy "+
		"constraint: Member must not be null", member)
}

func validationError(format string, args ...any) *Error {
	return &Error{Status: 400, Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}
