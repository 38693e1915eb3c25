// Package clean removes what a run of the agent leaves on a host, so that an
// AMI baked from that host starts every instance as a fresh first boot and
// carries no secret: the agent's state, the secrets on tmpfs, the configs
// and drop-ins it rendered, and the data the agents wrote (Consul's node id
// and gossip keyring, Nomad's and Vault's data directories).
//
// It owns the list of those paths and their removal below a root. It must
// never remove a path outside that list, follow a symlink out of the root,
// or talk to systemd: the bake stops the units before it runs clean.
package clean

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/hashistack/bootstrap/roles"
)

// DefaultUnitDir is the directory of the render stage's drop-ins unless
// systemd.unit_dir sets another.
const DefaultUnitDir = "/etc/systemd/system"

// dropinName is the drop-in file the render stage writes for each unit.
// NOTE: it must stay equal to the render package's drop-in name, which is
// not exported; TestTargets pins the value.
const dropinName = "50-bootstrap.conf"

// Kind selects how a target is removed.
type Kind int

const (
	// Tree is a directory removed with everything below it.
	Tree Kind = iota
	// Contents is a directory emptied but kept, such as a tmpfs mount point.
	Contents
	// File is one file; the temp files an interrupted atomic write of it
	// left beside it go too.
	File
)

// Target is one path clean removes.
type Target struct {
	// Path is the absolute path on the node, without the root.
	Path string
	Kind Kind
	// Reason describes what the path contains, for the report.
	Reason string
	// EmptyParent removes the parent directory too when the removal leaves
	// it empty, as for a unit's drop-in directory.
	EmptyParent bool
}

// ErrBusy marks a clean attempted while a run holds the agent's lock.
var ErrBusy = errors.New("a bootstrap run holds the lock")

// Targets returns every path clean removes, sorted by path. unitDir is the
// directory of the drop-ins; "" means [DefaultUnitDir].
func Targets(unitDir string) ([]Target, error) {
	if unitDir == "" {
		unitDir = DefaultUnitDir
	}
	if !path.IsAbs(unitDir) || path.Clean(unitDir) != unitDir {
		return nil, fmt.Errorf("unit directory %q is not an absolute clean path", unitDir)
	}
	all, err := roles.All()
	if err != nil {
		return nil, fmt.Errorf("load roles: %w", err)
	}
	targets := fixedTargets()
	seen := map[string]bool{}
	add := func(t Target) {
		if !seen[t.Path] {
			seen[t.Path] = true
			targets = append(targets, t)
		}
	}
	for _, r := range all {
		for _, f := range r.Files {
			add(Target{Path: f.Path, Kind: File, Reason: "config rendered for role " + r.Name})
		}
		for _, s := range r.Services {
			add(Target{Path: path.Join(unitDir, s.Unit+".d", dropinName), Kind: File,
				Reason: "drop-in rendered for " + s.Unit, EmptyParent: true})
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].Path < targets[j].Path })
	return targets, nil
}

// fixedTargets lists the paths that do not depend on the roles.
func fixedTargets() []Target {
	return []Target{
		{Path: "/var/lib/bootstrap", Kind: Tree, Reason: "agent state: instance id, inputs digest, lock"},
		{Path: "/run/bootstrap", Kind: Contents, Reason: "secrets on tmpfs"},
		{Path: "/var/lib/consul", Kind: Tree, Reason: "Consul data: node id, gossip keyring, raft"},
		{Path: "/var/lib/nomad", Kind: Tree, Reason: "Nomad data: node id, raft, allocations"},
		{Path: "/var/lib/vault", Kind: Tree, Reason: "Vault integrated storage"},
		{Path: "/root/.vault-token", Kind: File, Reason: "Vault token written by the vault CLI"},
	}
}

// Options configures [Clean] and [Check].
type Options struct {
	// Root prefixes every path; "" is "/".
	Root string
	// UnitDir is the drop-in directory on the node; "" is [DefaultUnitDir].
	UnitDir string
	// DryRun lists what would be removed without removing it.
	DryRun bool
}

// Removed is one path that Clean removed, or would remove in a dry run.
type Removed struct {
	// Path is the path on the node, without the root.
	Path   string
	Reason string
}

// Clean removes every target below o.Root that exists and returns what it
// removed: targets in path order, each file followed by its temp files.
// It holds the agent's lock while it works and
// returns [ErrBusy] when a run holds it. A missing target is not an error.
func Clean(ctx context.Context, o Options) ([]Removed, error) {
	targets, err := Targets(o.UnitDir)
	if err != nil {
		return nil, err
	}
	root, err := openRoot(o.Root)
	if err != nil {
		return nil, err
	}
	defer func() { _ = root.Close() }()
	unlock, err := lock(root)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var removed []Removed
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("clean %s: %w", t.Path, err)
		}
		paths, err := remove(root, t, o.DryRun)
		for _, p := range paths {
			removed = append(removed, Removed{Path: p, Reason: t.Reason})
		}
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Check returns the targets that are still present below o.Root, as paths
// on the node. An empty result proves the tree is clean.
func Check(o Options) ([]Removed, error) {
	targets, err := Targets(o.UnitDir)
	if err != nil {
		return nil, err
	}
	root, err := openRoot(o.Root)
	if err != nil {
		return nil, err
	}
	defer func() { _ = root.Close() }()
	var left []Removed
	for _, t := range targets {
		paths, err := remove(root, t, true)
		if err != nil {
			return left, err
		}
		for _, p := range paths {
			left = append(left, Removed{Path: p, Reason: t.Reason})
		}
	}
	return left, nil
}

func openRoot(dir string) (*os.Root, error) {
	if dir == "" {
		dir = "/"
	}
	root, err := os.OpenRoot(filepath.Clean(dir))
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	return root, nil
}

// lock takes the run's lock file, /var/lib/bootstrap/lock, when it exists.
// The lock is released by the returned function; the file itself goes with
// /var/lib/bootstrap.
func lock(root *os.Root) (func(), error) {
	f, err := root.OpenFile("var/lib/bootstrap/lock", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: stop bootstrap.service and retry", ErrBusy)
		}
		return nil, fmt.Errorf("lock /var/lib/bootstrap/lock: %w", err)
	}
	return func() { _ = f.Close() }, nil
}
