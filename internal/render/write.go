package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/hashistack/bootstrap/internal/atomicfile"
)

// dirMode is the mode of directories Write creates. They hold configs whose
// own modes protect them, and systemd must be able to read drop-in
// directories.
const dirMode = 0o755

// Written records one file Write handled.
type Written struct {
	Path   string // path on the node, without the root
	SHA256 string // hex digest of the content
	Mode   fs.FileMode
	Owner  string
	Group  string
	// Changed is false when the file already had this content, mode and
	// owner, so Write left it alone and its mtime is kept.
	Changed bool
}

// WriteError lists the files Write could not write.
type WriteError struct {
	Total  int
	Failed []FileError
}

// FileError is the failure of one file. Err names the path too.
type FileError struct {
	Path string
	Err  error
}

func (e *WriteError) Error() string {
	parts := make([]string, 0, len(e.Failed))
	for _, f := range e.Failed {
		parts = append(parts, f.Err.Error())
	}
	return fmt.Sprintf("write %d of %d files failed: %s", len(e.Failed), e.Total, strings.Join(parts, "; "))
}

// Unwrap returns the error of each failed file.
func (e *WriteError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed))
	for _, f := range e.Failed {
		errs = append(errs, f.Err)
	}
	return errs
}

// Write writes files under root ("" or "/" for the real system), each one
// atomically through [atomicfile]. A file that already has the same bytes,
// mode and owner is skipped. Before writing, Write removes temp files that
// an interrupted earlier write of the same file left behind, and it creates
// missing directories with mode 0755, owned by the running user.
//
// Write tries every file and returns a [*WriteError] naming each one that
// failed, along with the files it did write. The caller must treat the
// render as done only when the error is nil. Nothing is written outside
// root, even through a symlink.
//
// NOTE: os.Root rejects an absolute symlink anywhere on the path, even when
// root is "/", so an AMI that makes /etc/consul.d an absolute symlink fails
// here with "path escapes from parent". Relative symlinks work.
func Write(ctx context.Context, root string, files []File) ([]Written, error) {
	clean, err := cleanRoot(root)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(rootDir(clean))
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	defer func() { _ = r.Close() }()

	written := make([]Written, 0, len(files))
	werr := &WriteError{Total: len(files)}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			werr.Failed = append(werr.Failed, FileError{Path: f.Path, Err: fmt.Errorf("write %s: %w", f.Path, err)})
			continue
		}
		w, err := writeOne(r, f)
		if err != nil {
			werr.Failed = append(werr.Failed, FileError{Path: f.Path, Err: err})
			continue
		}
		written = append(written, w)
	}
	if len(werr.Failed) > 0 {
		return written, werr
	}
	return written, nil
}

func writeOne(r *os.Root, f File) (Written, error) {
	sum := sha256.Sum256(f.Data)
	w := Written{Path: f.Path, SHA256: hex.EncodeToString(sum[:]), Mode: f.Mode, Owner: f.Owner, Group: f.Group}
	name := path.Clean(f.Path)
	if !path.IsAbs(name) || name == "/" {
		return w, fmt.Errorf("write %q: not an absolute file path", f.Path)
	}
	if _, err := atomicfile.RemoveTempsIn(r, name); err != nil {
		return w, err
	}
	if err := atomicfile.MkdirAllIn(r, path.Dir(name), dirMode); err != nil {
		return w, err
	}
	if atomicfile.SameContentIn(r, name, f.Data, f.Mode, f.UID, f.GID) {
		return w, nil
	}
	if err := atomicfile.WriteFileIn(r, name, f.Data, f.Mode, f.UID, f.GID); err != nil {
		return w, err
	}
	w.Changed = true
	return w, nil
}
