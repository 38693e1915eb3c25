package diagnose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashistack/bootstrap/internal/state"
)

// rerun is the fix's usual last step.
const rerun = "then rerun: systemctl restart bootstrap.service"

// stageFixes says what to do when a stage failed; the stage's error names
// the value.
var stageFixes = map[string]string{
	"metadata": "see the imds check; check the instance metadata options (HttpEndpoint enabled, " +
		"HttpPutResponseHopLimit, InstanceMetadataTags) and the instance profile's ec2:DescribeTags; " + rerun,
	"config": "correct the value named in the error at the source it names (instance tag, " +
		"user-data, /etc/bootstrap/bootstrap.toml or a flag); " + rerun,
	"secrets": "check the Vault AWS auth role of this namespace, its bound IAM principal and the " +
		"instance profile; journalctl -u bootstrap.service shows Vault's answer; " + rerun,
	"render": "check the path and owner named in the error; `bootstrap render` prints what would be written; " + rerun,
	"units":  "see the units and retry-join checks; journalctl -u UNIT shows why a unit stopped; " + rerun,
	"health": "see the health check; journalctl -u UNIT of the role's units shows why the agent is unhealthy; " + rerun,
	"signal": "check the group's launch lifecycle hook and the instance profile's " +
		"autoscaling:CompleteLifecycleAction permission; " + rerun,
}

func (e *env) checkRole(ctx context.Context) Result {
	if r := e.needRole("role"); r != nil {
		return *r
	}
	c := e.st.Config
	r := result("role", OK, "%s (namespace %s, environment %s, datacenter %s)",
		c.Role, c.Namespace, c.Environment, c.Datacenter)
	if e.st.Instance != nil {
		r.Summary += fmt.Sprintf(" on %s in account %s, %s", e.st.Instance.InstanceID,
			e.st.Instance.AccountID, e.st.Instance.Region)
	}
	if e.o.Explain {
		for _, l := range e.explain() {
			r.add(l)
		}
	}
	return r
}

// explain lists every effective value with its source, by dotted key.
func (e *env) explain() []Line {
	values := map[string]any{}
	data, err := json.Marshal(e.st.Config)
	if err == nil {
		var tree map[string]any
		if json.Unmarshal(data, &tree) == nil {
			flatten("", tree, values)
		}
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]Line, 0, len(keys))
	for _, k := range keys {
		source := e.st.Provenance[k]
		if source == "" {
			source = "not recorded"
		}
		text, _ := json.Marshal(values[k])
		lines = append(lines, Line{Status: OK, Name: k, Value: string(text) + "  (" + source + ")",
			Attrs: map[string]any{"value": values[k], "source": source}})
	}
	return lines
}

// flatten turns nested objects into dotted keys; lists stay values.
func flatten(prefix string, tree map[string]any, out map[string]any) {
	for k, v := range tree {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
}

func (e *env) checkLastRun(ctx context.Context) Result {
	if e.stErr != nil {
		r := result("last-run", Fail, "%v", e.stErr)
		r.Fix = "move the file aside to start a fresh first boot; " + rerun
		return r
	}
	if e.st == nil {
		r := result("last-run", Fail, "bootstrap has never run on this node: no %s", state.Path)
		r.Fix = "check systemctl status bootstrap.service and journalctl -u bootstrap.service; " +
			"start it with systemctl start bootstrap.service"
		return r
	}
	r := e.runVerdict()
	for _, s := range e.st.Stages {
		r.add(stageLine(s))
	}
	return r
}

// runVerdict summarizes the run as a whole.
func (e *env) runVerdict() Result {
	st := e.st
	started := st.Started.UTC().Format(time.RFC3339)
	switch st.Result {
	case state.OK:
		return result("last-run", OK, "succeeded: started %s, took %s", started,
			roundDuration(st.Finished.Sub(st.Started)))
	case state.Failed:
		return result("last-run", Fail, "failed at stage %s: started %s", failedStage(st), started)
	case state.Running:
		held, known := e.runHeld()
		if held {
			return result("last-run", Warn, "a run is in progress: started %s", started)
		}
		r := result("last-run", Fail, "the run started %s stopped without finishing", started)
		if !known {
			r.Summary += " (or is still running: /proc/locks is unreadable)"
		}
		r.Fix = "the agent was killed or crashed; journalctl -u bootstrap.service shows its last lines; " + rerun
		return r
	}
	return result("last-run", Fail, "unknown run result %q in %s", st.Result, state.Path)
}

func failedStage(st *state.File) string {
	for _, s := range st.Stages {
		if s.Result == state.Failed {
			return s.Name
		}
	}
	return "(none recorded)"
}

// stageLine describes one stage record: its result, start and duration,
// and its error or detail.
func stageLine(s state.Stage) Line {
	text := fmt.Sprintf("%-9s  %s  %7s", s.Result, s.Started.UTC().Format(time.RFC3339),
		roundDuration(s.Duration))
	l := Line{Status: OK, Name: s.Name, Attrs: map[string]any{
		"result": s.Result, "started": s.Started.UTC().Format(time.RFC3339Nano),
		"duration_ms": float64(s.Duration.Microseconds()) / 1000,
	}}
	switch {
	case s.Result == state.Failed:
		l.Status, l.Fix = Fail, stageFixes[s.Name]
		text += "  " + s.Error
		l.Attrs["error"] = s.Error
	case s.Result == state.Running:
		l.Status = Warn
		l.Fix = "the stage did not finish; see the run's verdict above"
	case s.Detail != "":
		text += "  " + s.Detail
	}
	if s.Detail != "" {
		l.Attrs["detail"] = s.Detail
	}
	l.Value = text
	return l
}

// roundDuration shortens d for people: milliseconds below a minute.
func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func (e *env) checkDrift(ctx context.Context) Result {
	if e.st == nil {
		return result("drift", Skip, "%v", errNoState)
	}
	if len(e.st.Files) == 0 {
		return result("drift", Skip, "no rendered file recorded: the render stage has not completed")
	}
	r := result("drift", OK, "%s as the agent rendered them", plural(len(e.st.Files), "file"))
	drifted := 0
	for _, f := range e.st.Files {
		if ctx.Err() != nil {
			break
		}
		l := e.driftLine(f)
		if l.Status != OK {
			drifted++
		}
		r.add(l)
	}
	if drifted > 0 {
		r.Summary = fmt.Sprintf("%d of %s changed since the agent wrote them", drifted,
			plural(len(e.st.Files), "rendered file"))
	}
	return r
}

// driftFix is the fix of a changed file: the inputs, not the file, are
// what a node should be changed through, and the next run rewrites a file
// only when its inputs change.
const driftFix = "`bootstrap render` prints what the agent wrote; put the change into the inputs " +
	"(tags, user-data or /etc/bootstrap/bootstrap.toml) instead, or copy the rendered content back"

func (e *env) driftLine(f state.Rendered) Line {
	l := Line{Status: OK, Name: f.Path, Attrs: map[string]any{
		"recorded_sha256": f.SHA256, "recorded_mode": f.Mode,
	}}
	sum, mode, err := fileDigest(e.path(f.Path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.Status, l.Value, l.Fix = Fail, "missing", driftFix
		return l
	case err != nil:
		l.Status, l.Value = Fail, err.Error()
		l.Fix = "run diagnose as root, which can read every rendered file"
		return l
	}
	l.Attrs["sha256"], l.Attrs["mode"] = sum, mode
	var changes []string
	if sum != f.SHA256 {
		changes = append(changes, "content changed (sha256 "+short(sum)+", rendered "+short(f.SHA256)+")")
	}
	if f.Mode != "" && mode != f.Mode {
		changes = append(changes, "mode "+mode+", rendered "+f.Mode)
	}
	if len(changes) == 0 {
		l.Value = "unchanged, sha256 " + short(sum)
		return l
	}
	l.Status, l.Value, l.Fix = Warn, strings.Join(changes, "; "), driftFix
	return l
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// fileDigest returns the hex SHA-256 of the file at p and its permission
// bits as the state file writes them ("0640").
func fileDigest(p string) (string, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", "", err
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", "", err
	}
	return hex.EncodeToString(h.Sum(nil)), fmt.Sprintf("%04o", info.Mode().Perm()), nil
}
