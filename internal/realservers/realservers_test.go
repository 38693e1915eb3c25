package realservers

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDir(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{
			name: "override",
			env:  map[string]string{DirEnv: "/srv/servers", "XDG_CACHE_HOME": "/xdg"},
			want: "/srv/servers",
		},
		{
			name:    "relative_override",
			env:     map[string]string{DirEnv: "servers"},
			wantErr: true,
		},
		{
			name: "xdg_cache_home",
			env:  map[string]string{DirEnv: "", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"},
			want: "/xdg/bootstrap/real-servers",
		},
		{
			name: "home",
			env:  map[string]string{DirEnv: "", "XDG_CACHE_HOME": "", "HOME": "/home/u"},
			want: "/home/u/.cache/bootstrap/real-servers",
		},
		{
			name:    "no_home",
			env:     map[string]string{DirEnv: "", "XDG_CACHE_HOME": "", "HOME": ""},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := Dir()
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("Dir() error = %v, want error: %t", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Dir() = %q, want %q", got, tc.want)
			}
		})
	}
}

// writeFile creates path and its parent directories with the given mode.
func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		name       string
		server     string
		setup      func(t *testing.T, bin string)
		wantReason string
	}{
		{
			name:   "built",
			server: Consul,
			setup: func(t *testing.T, bin string) {
				writeFile(t, bin, 0o755)
				writeFile(t, bin+".sha256", 0o644)
			},
		},
		{
			name:       "missing",
			server:     Vault,
			setup:      func(*testing.T, string) {},
			wantReason: "not found",
		},
		{
			name:   "directory",
			server: Nomad,
			setup: func(t *testing.T, bin string) {
				if err := os.MkdirAll(bin, 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "is not an executable file",
		},
		{
			name:   "not_executable",
			server: Consul,
			setup: func(t *testing.T, bin string) {
				writeFile(t, bin, 0o644)
				writeFile(t, bin+".sha256", 0o644)
			},
			wantReason: "is not an executable file",
		},
		{
			name:   "no_checksum",
			server: Vault,
			setup: func(t *testing.T, bin string) {
				writeFile(t, bin, 0o755)
			},
			wantReason: "has no checksum file beside it",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv(DirEnv, dir)
			version, err := Version(tc.server)
			if err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(dir, tc.server+"-"+version, tc.server)
			tc.setup(t, bin)

			got, err := Path(tc.server)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("Path(%q) error = %v", tc.server, err)
				}
				if got != bin {
					t.Errorf("Path(%q) = %q, want %q", tc.server, got, bin)
				}
				return
			}
			var notBuilt *NotBuiltError
			if !errors.As(err, &notBuilt) {
				t.Fatalf("Path(%q) error = %v, want a *NotBuiltError", tc.server, err)
			}
			want := &NotBuiltError{Name: tc.server, Version: version, Path: bin, Reason: tc.wantReason}
			if diff := cmp.Diff(want, notBuilt); diff != "" {
				t.Errorf("Path(%q) error mismatch (-want +got):\n%s", tc.server, diff)
			}
		})
	}
}

func TestPathUnknownServer(t *testing.T) {
	t.Setenv(DirEnv, t.TempDir())
	_, err := Path("terraform")
	if !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Path(%q) error = %v, want %v", "terraform", err, ErrUnknownServer)
	}
}

func TestNotBuiltErrorMessage(t *testing.T) {
	err := &NotBuiltError{Name: Nomad, Version: NomadVersion, Path: "/c/nomad", Reason: "not found"}
	want := "nomad v1.6.2 not built: /c/nomad not found: run `make real-servers` to build it"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestVersionsMatchWrappers checks that the wrapper modules and build.sh build
// the versions this package names, so Path never looks for a binary that
// build.sh does not make.
func TestVersionsMatchWrappers(t *testing.T) {
	script, err := os.ReadFile("build.sh")
	if err != nil {
		t.Fatal(err)
	}
	for name, version := range versions {
		t.Run(name, func(t *testing.T) {
			goMod, err := os.ReadFile(filepath.Join(name, "go.mod"))
			if err != nil {
				t.Fatal(err)
			}
			require := regexp.MustCompile(`(?m)^\s*(require\s+)?github\.com/hashicorp/` +
				name + `\s+` + regexp.QuoteMeta(version) + `(\s|$)`)
			if !require.Match(goMod) {
				t.Errorf("%s/go.mod does not require github.com/hashicorp/%s %s", name, name, version)
			}
			entry := regexp.MustCompile(`(?m)^\s*"` + name + ` ` + regexp.QuoteMeta(version) + ` `)
			if !entry.Match(script) {
				t.Errorf("build.sh has no servers entry for %s %s", name, version)
			}
		})
	}
}
