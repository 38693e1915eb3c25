package render

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/hashistack/bootstrap/internal/atomicfile"
)

// Print writes each file to w for a dry run: a header line with the path,
// mode and owner, then the content, then a blank line.
func Print(w io.Writer, files []File) error {
	for _, f := range files {
		if _, err := fmt.Fprintf(w, "==> %s (mode %04o, owner %s:%s)\n", f.Path, f.Mode.Perm(), f.Owner, f.Group); err != nil {
			return err
		}
		data := f.Data
		if !bytes.HasSuffix(data, []byte("\n")) {
			data = append(bytes.Clone(data), '\n')
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return nil
}

// WriteTree writes files below dir for a dry run, creating dir if needed.
// Modes are kept and owners are not changed, so it needs no privileges.
// Nothing is written outside dir, even through a symlink.
func WriteTree(dir string, files []File) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open output directory: %w", err)
	}
	defer func() { _ = r.Close() }()
	for _, f := range files {
		name := path.Clean(f.Path)
		if err := atomicfile.MkdirAllIn(r, path.Dir(name), dirMode); err != nil {
			return fmt.Errorf("write %s below %s: %w", f.Path, dir, err)
		}
		err := atomicfile.WriteFileIn(r, name, f.Data, f.Mode, atomicfile.KeepOwner, atomicfile.KeepOwner)
		if err != nil {
			return fmt.Errorf("below %s: %w", dir, err)
		}
	}
	return nil
}
