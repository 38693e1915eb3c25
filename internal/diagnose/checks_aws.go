package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// IMDSAPI is the part of the SDK's *imds.Client that diagnose uses; build
// it with metadata.NewIMDSClient, which speaks IMDSv2 only.
type IMDSAPI interface {
	GetInstanceIdentityDocument(ctx context.Context, in *imds.GetInstanceIdentityDocumentInput,
		optFns ...func(*imds.Options)) (*imds.GetInstanceIdentityDocumentOutput, error)
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput,
		optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// imdsFix names the settings that make IMDSv2 unreachable.
const imdsFix = "check the instance's metadata options: HttpEndpoint enabled, HttpTokens, " +
	"and HttpPutResponseHopLimit of 2 or more when bootstrap runs in a container"

func (e *env) checkIMDS(ctx context.Context) Result {
	if e.o.IMDS == nil {
		return result("imds", Skip, "no IMDS client configured")
	}
	doc, err := e.o.IMDS.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		r := result("imds", Fail, "IMDSv2 unreachable: %s", imdsError(err))
		r.Fix = imdsFix
		return r
	}
	r := result("imds", OK, "IMDSv2 reachable")
	id := doc.InstanceIdentityDocument
	r.add(Line{Status: OK, Name: "identity", Value: fmt.Sprintf("%s in account %s, %s",
		id.InstanceID, id.AccountID, id.AvailabilityZone),
		Attrs: map[string]any{"instance_id": id.InstanceID, "account_id": id.AccountID, "region": id.Region}})
	r.add(e.tagsLine(ctx))
	if e.st != nil && e.st.InstanceID != "" && e.st.InstanceID != id.InstanceID {
		r.add(Line{Status: Warn, Name: "state", Value: "the state file belongs to instance " + e.st.InstanceID,
			Fix: "an AMI baked from a bootstrapped node: the next run starts a fresh first boot; " + rerun})
	}
	return r
}

// tagsLine reports whether instance metadata tags are enabled: IMDS returns
// 404 for the tag list when they are not.
func (e *env) tagsLine(ctx context.Context) Line {
	l := Line{Status: OK, Name: "instance-tags"}
	out, err := e.o.IMDS.GetMetadata(ctx, &imds.GetMetadataInput{Path: "tags/instance"})
	switch {
	case statusCode(err) == http.StatusNotFound:
		l.Value = "disabled: the agent reads tags with ec2:DescribeTags"
		l.Attrs = map[string]any{"enabled": false}
	case err != nil:
		l.Status, l.Value, l.Fix = Fail, imdsError(err), imdsFix
	default:
		keys, _ := io.ReadAll(io.LimitReader(out.Content, 1<<16))
		_ = out.Content.Close()
		n := len(strings.Fields(string(keys)))
		l.Value = fmt.Sprintf("enabled, %d tags", n)
		l.Attrs = map[string]any{"enabled": true, "count": n}
	}
	return l
}

// statusCode returns the HTTP status of an SDK error, or 0.
func statusCode(err error) int {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		return status.HTTPStatusCode()
	}
	return 0
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// imdsError shortens the SDK's IMDS error, which repeats the operation
// for each layer, to its cause after "request send failed", with "no
// IMDSv2 token" first when the token request failed.
//
// NOTE: the SDK (feature/ec2/imds v1.20.9) wraps a failed token request in
// an error type without Unwrap, so the cause is found in the text.
func imdsError(err error) string {
	text := oneLine(err)
	const sendFailed = "request send failed, "
	if i := strings.LastIndex(text, sendFailed); i >= 0 {
		text = text[i+len(sendFailed):]
	}
	if strings.Contains(err.Error(), "failed to get API token") {
		text = "no IMDSv2 token: " + text
	}
	return text
}

// Clock skew limits. AWS rejects a SigV4 request whose time is more than
// 15 minutes from its own, and with it the Vault login, whose STS request
// the node signs. A synchronized clock is within milliseconds, and the
// Date header has one-second resolution, so a minute is clearly wrong.
const (
	maxSkew  = 15 * time.Minute
	warnSkew = time.Minute
)

// STSEndpoint returns the endpoint the clock check reads the Date header
// of: AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL when set, as the SDK reads
// them, otherwise the regional STS endpoint.
func STSEndpoint(getenv func(string) string, region string) string {
	for _, name := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		if v := getenv(name); v != "" {
			return v
		}
	}
	switch {
	case region == "":
		return "https://sts.amazonaws.com"
	case strings.HasPrefix(region, "cn-"):
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

func (e *env) clockURL() string {
	if e.o.ClockURL != "" {
		return e.o.ClockURL
	}
	region := os.Getenv("AWS_REGION")
	if e.st != nil && e.st.Instance != nil && e.st.Instance.Region != "" {
		region = e.st.Instance.Region
	}
	return STSEndpoint(os.Getenv, region)
}

func (e *env) checkClock(ctx context.Context) Result {
	url := e.clockURL()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return result("clock", Fail, "invalid endpoint %q: %v", url, err)
	}
	// Any response carries a Date: a redirect is read, never followed.
	client := *e.o.HTTP
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	sent := e.o.Now()
	resp, err := client.Do(req)
	if err != nil {
		r := result("clock", Warn, "skew not measured: %s", oneLine(err))
		r.Fix = "the node cannot reach " + url + ": check its route to AWS (NAT, VPC endpoint, proxy)"
		return r
	}
	received := e.o.Now()
	_ = resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return result("clock", Warn, "skew not measured: %s sent no valid Date header", url)
	}
	return skewResult(url, skew(sent, received, date))
}

// skew estimates local time minus the server's: the server stamped its
// Date, truncated to the second, about halfway through the request.
func skew(sent, received, date time.Time) time.Duration {
	local := sent.Add(received.Sub(sent) / 2)
	return local.Sub(date.Add(500 * time.Millisecond))
}

func skewResult(url string, d time.Duration) Result {
	abs := d.Abs()
	summary := abs.Round(time.Second).String()
	switch {
	case abs < time.Second:
		summary = "in sync"
	case d > 0:
		summary += " ahead"
	default:
		summary += " behind"
	}
	r := result("clock", OK, "%s", summary)
	fix := "synchronize the clock: chronyc tracking, and the Amazon Time Sync Service at 169.254.169.123"
	switch {
	case abs >= maxSkew:
		r.Status, r.Fix = Fail, "AWS rejects signed requests more than 15 minutes off; "+fix
	case abs > warnSkew:
		r.Status, r.Fix = Warn, fix
	}
	value := "local clock " + summary + " of the Date header of " + url
	if abs < time.Second {
		value = "local clock agrees with the Date header of " + url + " to its one-second resolution"
	}
	r.Lines = []Line{{Status: r.Status, Name: "skew", Value: value,
		Attrs: map[string]any{"skew_seconds": d.Seconds(), "endpoint": url}}}
	return r
}

func (e *env) checkLifecycle(ctx context.Context) Result {
	r := result("lifecycle", OK, "")
	r.add(e.targetStateLine(ctx))
	r.add(e.hookLine())
	target := r.Lines[0].Value
	if r.Lines[0].Status == Fail {
		target = "unknown"
	}
	r.Summary = "target state " + target + "; hook " + hookOutcome(r.Lines[1])
	return r
}

// hookOutcome shortens a hook line to its outcome, as in "CONTINUE sent".
func hookOutcome(l Line) string {
	if l.Status == Skip {
		return "outcome not recorded"
	}
	text := l.Value
	for _, sep := range []string{" for hook", ":"} {
		if i := strings.Index(text, sep); i > 0 {
			text = text[:i]
		}
	}
	return text
}

// targetStateLine reads the Auto Scaling target lifecycle state from IMDS
// now, and names the state the last run recorded when it differs.
func (e *env) targetStateLine(ctx context.Context) Line {
	l := Line{Status: OK, Name: "target-state"}
	if e.o.IMDS == nil {
		l.Status, l.Value = Skip, "no IMDS client configured"
		return l
	}
	out, err := e.o.IMDS.GetMetadata(ctx, &imds.GetMetadataInput{Path: "autoscaling/target-lifecycle-state"})
	var now string
	switch {
	case statusCode(err) == http.StatusNotFound:
		l.Value = "not in an Auto Scaling group"
	case err != nil:
		l.Status, l.Value, l.Fix = Fail, "unknown: "+imdsError(err), "see the imds check"
		return l
	default:
		b, _ := io.ReadAll(io.LimitReader(out.Content, 256))
		_ = out.Content.Close()
		now = strings.TrimSpace(string(b))
		l.Value = now
	}
	l.Attrs = map[string]any{"target_lifecycle_state": now}
	if e.st != nil && e.st.Instance != nil {
		recorded := e.st.Instance.TargetLifecycleState
		l.Attrs["recorded"] = recorded
		if recorded != now {
			l.Value += fmt.Sprintf(" (the last run saw %q)", recorded)
		}
	}
	if strings.HasSuffix(now, "Terminated") {
		l.Status, l.Fix = Warn, "the group is terminating this instance"
	}
	return l
}

// hookLine reports the lifecycle hook's outcome: the state file's
// lifecycle record, or for a state file written before it had one, the
// start of the signal stage's detail (CONTINUE, ABANDON, hold or "no
// lifecycle action").
func (e *env) hookLine() Line {
	l := Line{Status: OK, Name: "hook"}
	s := e.st.Stage("signal")
	outcome := ""
	if e.st != nil && e.st.Lifecycle != nil {
		outcome = e.st.Lifecycle.Outcome
	} else if s != nil {
		outcome, _, _ = strings.Cut(s.Detail, " ")
	}
	switch {
	case e.st == nil || s == nil:
		l.Status, l.Value = Skip, "outcome not recorded: the signal stage has not run"
	case s.Result == "failed":
		l.Status, l.Value, l.Fix = Fail, s.Error, stageFixes["signal"]
	case outcome == "ABANDON":
		l.Status, l.Value = Fail, s.Detail
		l.Fix = "the group replaces this instance; see last-run for the stage that failed"
	case strings.TrimSuffix(outcome, ":") == "hold":
		l.Status, l.Value = Warn, s.Detail
		l.Fix = "the hook waits for an operator: complete it with aws autoscaling complete-lifecycle-action " +
			"once the node is fixed, or let it time out"
	default:
		l.Value = s.Result
		if s.Detail != "" {
			l.Value = s.Detail
		}
	}
	if s != nil {
		l.Attrs = map[string]any{"result": s.Result, "detail": s.Detail}
		if e.st.Lifecycle != nil {
			l.Attrs["outcome"] = e.st.Lifecycle.Outcome
		}
	}
	return l
}
