package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashistack/bootstrap/internal/atomicfile"
	"github.com/hashistack/bootstrap/internal/config"
	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/render"
	"github.com/hashistack/bootstrap/internal/resolve"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/units"
	"github.com/hashistack/bootstrap/internal/userdata"
	"github.com/hashistack/bootstrap/roles"
)

// results carries each stage's output to the stages after it.
type results struct {
	instance node.Instance
	config   node.Config
	role     roles.Role
	// changedFiles counts the files this run's render stage rewrote.
	changedFiles int
}

func (r *run) metadata(ctx context.Context) (string, string, error) {
	inst, err := r.o.Metadata.Fetch(ctx)
	if err != nil {
		return "", "", err
	}
	r.res.instance = inst
	if r.st.InstanceID != "" && r.st.InstanceID != inst.InstanceID {
		// An AMI baked from a bootstrapped instance carries that instance's
		// state: this is a fresh first boot.
		r.log.Info("state belongs to another instance, starting a fresh first boot",
			"previous_instance_id", r.st.InstanceID)
		r.prev = nil
		r.st.InputsDigest = ""
		r.st.Files = nil
	}
	r.st.InstanceID = inst.InstanceID
	r.st.Instance = &inst
	r.log = r.log.With("instance_id", inst.InstanceID, "account", inst.AccountID,
		"region", inst.Region)
	return state.OK, "tags from " + inst.TagsSource, nil
}

func (r *run) config(ctx context.Context) (string, string, error) {
	file, err := os.ReadFile(filepath.Join(r.o.Root, r.o.ConfigFile))
	if errors.Is(err, fs.ErrNotExist) && r.o.ConfigRequired {
		return "", "", fmt.Errorf("read %s: file not found: fix the --config path", r.o.ConfigFile)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("read %s: %w", r.o.ConfigFile, err)
	}
	doc, err := r.userData()
	if err != nil {
		return "", "", err
	}
	cfg, prov, err := config.Load(config.Sources{
		File:     file,
		FilePath: r.o.ConfigFile,
		Tags:     r.res.instance.Tags,
		UserData: doc,
		Flags:    r.o.Flags,
		Instance: r.res.instance,
	})
	if err != nil {
		return "", "", err
	}
	role, err := roles.Load(cfg.Role)
	if err != nil {
		return "", "", err
	}
	r.res.config, r.res.role = cfg, role
	r.st.Role = cfg.Role
	r.st.Config = &cfg
	r.st.Provenance = prov
	r.log = r.log.With("role", cfg.Role, "namespace", cfg.Namespace)
	return state.OK, "", nil
}

// userData decodes the instance's user-data and returns our TOML document,
// or nil when the user-data belongs to another tool.
func (r *run) userData() ([]byte, error) {
	raw := r.res.instance.UserData
	res, err := userdata.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("user-data: %w", err)
	}
	if !res.Ours {
		if len(raw) > 0 {
			r.log.Info("user-data is not a bootstrap document, ignoring it",
				"kind", res.Kind, "bytes", len(raw))
		}
		return nil, nil
	}
	return res.Doc, nil
}

func (r *run) render(ctx context.Context) (string, string, error) {
	files, err := render.Plan(render.Input{
		Root:     r.o.Root,
		Role:     r.res.role,
		Config:   r.res.config,
		Instance: r.res.instance,
	})
	if err != nil {
		return "", "", err
	}
	digest := digestFiles(files)
	restored := ""
	if r.prev != nil && r.st.InputsDigest == digest && renderedBefore(r.prev) {
		drifted := driftedFiles(r.o.Root, files)
		if len(drifted) == 0 {
			return state.Unchanged, "inputs unchanged, files not rewritten", nil
		}
		// A deleted or edited config would otherwise keep the node down, or
		// running on a config nobody reviewed, until its inputs change.
		r.log.Warn("rendered files changed since the agent wrote them, restoring them",
			"paths", drifted)
		restored = "; restored " + strings.Join(drifted, ", ")
	}
	// Forget the previous render until this one is complete, so a run
	// killed in the middle rerenders everything next time.
	r.st.InputsDigest, r.st.Files = "", nil
	if err := r.save(); err != nil {
		return "", "", err
	}
	written, err := render.Write(ctx, r.o.Root, files)
	if err != nil {
		return "", "", err
	}
	changed := 0
	for _, w := range written {
		r.st.Files = append(r.st.Files, state.Rendered{
			Path: w.Path, SHA256: w.SHA256, Mode: fmt.Sprintf("%04o", w.Mode.Perm()),
			Owner: w.Owner, Group: w.Group,
		})
		if w.Changed {
			changed++
		}
	}
	r.st.InputsDigest = digest
	r.res.changedFiles = changed
	return state.OK, fmt.Sprintf("%d files, %d changed%s", len(written), changed, restored), nil
}

// driftedFiles returns the paths of files whose content, mode or owner on
// disk differ from what the render stage would write.
func driftedFiles(root string, files []render.File) []string {
	var drifted []string
	for _, f := range files {
		p := filepath.Join(root, f.Path)
		if !atomicfile.SameContent(p, f.Data, f.Mode, f.UID, f.GID) {
			drifted = append(drifted, f.Path)
		}
	}
	return drifted
}

// renderedBefore reports whether the previous run completed its render.
func renderedBefore(prev *state.File) bool {
	s := prev.Stage(StageRender)
	return s != nil && (s.Result == state.OK || s.Result == state.Unchanged)
}

// digestFiles hashes what the render stage would write: paths, owners,
// modes and contents. Equal digests mean equal inputs.
func digestFiles(files []render.File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%o\x00%d\x00", f.Path, f.Owner, f.Group, f.Mode, len(f.Data))
		h.Write(f.Data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (r *run) units(ctx context.Context) (string, string, error) {
	if warm(r.res.instance) {
		return state.Skipped, "warm pool (" + r.res.instance.TargetLifecycleState +
			"): no unit started", nil
	}
	resolved, err := r.resolveJoin(ctx)
	if err != nil {
		return "", "", err
	}
	var names []string
	for _, s := range r.res.role.Services {
		names = append(names, s.Unit)
	}
	if r.o.Systemd == nil {
		return "", "", errors.New("no systemd connection configured")
	}
	conn, err := r.o.Systemd(ctx)
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	// A unit still running from an earlier run in this boot would keep
	// the configs it read at its start, so changed files restart it.
	// NOTE: secrets fetched again by this run do not restart a running unit.

	start, how := units.Start, ""
	if r.res.changedFiles > 0 {
		start, how = units.Restart, " (restart jobs: configs changed)"
	}
	if err := start(ctx, conn, names, r.log); err != nil {
		return "", "", err
	}
	return state.OK, "started " + strings.Join(names, ", ") + how + resolved, nil
}

// resolveJoin waits until every retry_join name of the role's services
// resolves, so a name that resolves to nothing is reported as itself and
// not, minutes later, as a join timeout.
func (r *run) resolveJoin(ctx context.Context) (string, error) {
	var names []string
	for _, s := range r.res.role.Services {
		names = append(names, joinNames(r.res.config.Join, s.Join)...)
	}
	if len(names) == 0 {
		return "", nil
	}
	wait := r.res.config.DNS.Wait.Duration
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	addrs, err := resolve.Wait(wctx, r.o.Resolver(r.res.config.DNS.Server), names, r.log)
	if err != nil {
		return "", fmt.Errorf("retry_join names: %w", err)
	}
	var parts []string
	for _, n := range names {
		var as []string
		for _, a := range addrs[n] {
			as = append(as, a.String())
		}
		sort.Strings(as)
		parts = append(parts, n+" = "+strings.Join(as, " "))
	}
	return "; resolved " + strings.Join(parts, ", "), nil
}

func joinNames(j node.JoinConfig, kind string) []string {
	switch kind {
	case "consul":
		return j.Consul
	case "nomad":
		return j.Nomad
	case "vault":
		return j.Vault
	}
	return nil
}

// warm reports whether the instance is being prepared for a warm pool.
func warm(inst node.Instance) bool {
	return strings.HasPrefix(inst.TargetLifecycleState, "Warmed:")
}
