// Package state reads and writes the agent's state file,
// /var/lib/bootstrap/state.json: which instance it belongs to, the
// effective configuration, each stage's start, duration, result and error,
// and the digest of every file the agent rendered.
//
// The file is written atomically after every stage, so a run killed at any
// point leaves the last complete picture. It never holds a secret: secrets
// live on tmpfs and are referred to by path only.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/hashistack/bootstrap/internal/atomicfile"
	"github.com/hashistack/bootstrap/internal/node"
)

// Path is the state file's path on the node, below the run's root.
const Path = "/var/lib/bootstrap/state.json"

// Version is the schema version written to new state files.
const Version = 1

// Stage results.
const (
	Running   = "running"
	OK        = "ok"
	Failed    = "failed"
	Skipped   = "skipped"
	Unchanged = "unchanged"
)

// File is the content of the state file.
type File struct {
	Version    int    `json:"version"`
	InstanceID string `json:"instance_id"`
	// BootID is the kernel's boot id of the last run, which distinguishes
	// a reboot from a second run in the same boot.
	BootID string `json:"boot_id,omitempty"`
	Role   string `json:"role,omitempty"`

	// Result is the run's overall result: Running, OK or Failed.
	Result   string    `json:"result"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Stages   []Stage   `json:"stages"`

	Instance   *node.Instance  `json:"instance,omitempty"`
	Config     *node.Config    `json:"config,omitempty"`
	Provenance node.Provenance `json:"provenance,omitempty"`

	// Lifecycle is the signal stage's outcome for the launch hook.
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`

	// InputsDigest is the digest of the files the render stage last wrote
	// completely; an equal digest on a later run means nothing to rerender.
	InputsDigest string     `json:"inputs_digest,omitempty"`
	Files        []Rendered `json:"files,omitempty"`
}

// Stage records one stage of one run.
type Stage struct {
	Name     string        `json:"name"`
	Result   string        `json:"result"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Detail is the reason a stage was skipped, or a summary of its changes.
	Detail string `json:"detail,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Lifecycle records the outcome of the Auto Scaling launch hook.
type Lifecycle struct {
	// Outcome is CONTINUE, ABANDON, "hold" or "no lifecycle action".
	Outcome        string `json:"outcome"`
	Group          string `json:"group,omitempty"`
	Hook           string `json:"hook,omitempty"`
	LifecycleState string `json:"lifecycle_state,omitempty"`
	Heartbeats     int    `json:"heartbeats"`
	// Reason is the reason no action was needed, for that outcome.
	Reason string `json:"reason,omitempty"`
}

// Rendered records one file the render stage wrote, for drift detection.
type Rendered struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Mode   string `json:"mode"`
	Owner  string `json:"owner"`
	Group  string `json:"group"`
}

// ErrCorrupt marks a state file that exists but cannot be decoded.
var ErrCorrupt = errors.New("state file is corrupt")

// Load reads the state file below root. It returns nil and no error when
// the file does not exist. Like every access to the state directory, it
// goes through an [os.Root], so a symlink there cannot lead outside root.
func Load(root string) (*File, error) {
	r, err := openRoot(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	defer func() { _ = r.Close() }()
	data, err := r.ReadFile(relPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, Path, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("%w: %s: schema version %d, this agent reads %d",
			ErrCorrupt, Path, f.Version, Version)
	}
	return &f, nil
}

// Save writes f atomically below root, creating the directory if needed,
// and removes the temp files an interrupted earlier write left behind.
func Save(root string, f *File) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	data = append(data, '\n')
	r, err := openRoot(root)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer func() { _ = r.Close() }()
	if err := atomicfile.MkdirAllIn(r, path.Dir(relPath), 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if _, err := atomicfile.RemoveTempsIn(r, relPath); err != nil {
		return fmt.Errorf("remove temp files beside the state file: %w", err)
	}
	err = atomicfile.WriteFileIn(r, relPath, data, 0o644, atomicfile.KeepOwner, atomicfile.KeepOwner)
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Quarantine renames a corrupt state file aside, with now in its name, so
// a node whose state cannot be read still boots, and returns the new path.
func Quarantine(root string, now time.Time) (string, error) {
	r, err := openRoot(root)
	if err != nil {
		return "", err
	}
	defer func() { _ = r.Close() }()
	aside := relPath + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	if err := r.Rename(relPath, aside); err != nil {
		return "", fmt.Errorf("move the corrupt state file aside: %w", err)
	}
	return "/" + aside, nil
}

// relPath is Path relative to the root, as [os.Root] takes it.
var relPath = strings.TrimPrefix(Path, "/")

// openRoot opens the run's root; "" is "/".
func openRoot(root string) (*os.Root, error) {
	if root == "" {
		root = "/"
	}
	return os.OpenRoot(root)
}

// Stage returns the last record of the named stage, or nil.
func (f *File) Stage(name string) *Stage {
	if f == nil {
		return nil
	}
	for i := len(f.Stages) - 1; i >= 0; i-- {
		if f.Stages[i].Name == name {
			return &f.Stages[i]
		}
	}
	return nil
}
