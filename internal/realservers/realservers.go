package realservers

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names of the servers, as build.sh and [Path] use them.
const (
	Consul = "consul"
	Vault  = "vault"
	Nomad  = "nomad"
)

// Versions of the servers that build.sh builds. They are the newest MPL-2.0
// releases of each product that build unmodified from the project's Go module
// proxy. Later patch releases of some of these lines are BUSL-licensed, and
// newer MPL-2.0 releases need module versions that the proxy does not serve.
// TestVersionsMatchWrappers checks that build.sh and the wrapper go.mod files
// name the same versions.
const (
	ConsulVersion = "v1.14.11"
	VaultVersion  = "v1.13.2"
	NomadVersion  = "v1.6.2"
)

// DirEnv is the environment variable that overrides [Dir], in the Go tests
// and in build.sh alike.
const DirEnv = "BOOTSTRAP_REAL_SERVERS_DIR"

// ErrUnknownServer is returned for a server name other than [Consul],
// [Vault] and [Nomad].
var ErrUnknownServer = errors.New("unknown real server")

var versions = map[string]string{
	Consul: ConsulVersion,
	Vault:  VaultVersion,
	Nomad:  NomadVersion,
}

// NotBuiltError reports a server binary that build.sh has not built, or not
// completely: build.sh records the checksum file only after the binary passed
// its smoke checks.
type NotBuiltError struct {
	Name    string
	Version string
	Path    string
	// Reason is the fault found at Path, such as "not found".
	Reason string
}

func (e *NotBuiltError) Error() string {
	return fmt.Sprintf("%s %s not built: %s %s: run `make real-servers` to build it",
		e.Name, e.Version, e.Path, e.Reason)
}

// Dir returns the directory that holds the built servers: $BOOTSTRAP_REAL_SERVERS_DIR
// when set, else bootstrap/real-servers under the user cache directory
// ($XDG_CACHE_HOME, else $HOME/.cache). The override must be an absolute
// path, because the Go tests and build.sh run in different directories.
func Dir() (string, error) {
	if dir := os.Getenv(DirEnv); dir != "" {
		if !filepath.IsAbs(dir) {
			return "", fmt.Errorf("invalid %s %q: not an absolute path", DirEnv, dir)
		}
		return dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the real servers directory (set %s): %w", DirEnv, err)
	}
	return filepath.Join(cache, "bootstrap", "real-servers"), nil
}

// Version returns the version of the named server that build.sh builds.
func Version(name string) (string, error) {
	version, ok := versions[name]
	if !ok {
		known := slices.Sorted(maps.Keys(versions))
		return "", fmt.Errorf("real server %q (known: %s): %w",
			name, strings.Join(known, ", "), ErrUnknownServer)
	}
	return version, nil
}

// Path returns the path of the named server's binary, as build.sh left it in
// [Dir]/NAME-VERSION/NAME. It returns a [*NotBuiltError] when the binary or
// its checksum file is missing. It does not verify the checksum, because
// hashing a 94-231 MiB binary on every call is slow, but build.sh does.
func Path(name string) (string, error) {
	version, err := Version(name)
	if err != nil {
		return "", err
	}
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+"-"+version, name)
	reason, err := checkBinary(path)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, version, err)
	}
	if reason != "" {
		return "", &NotBuiltError{Name: name, Version: version, Path: path, Reason: reason}
	}
	return path, nil
}

// checkBinary returns why path is not a usable build, or "" when it is. The
// error is for failures other than a missing file, such as a denied stat.
func checkBinary(path string) (reason string, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "not found", nil
	}
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return "is not an executable file", nil
	}
	_, err = os.Stat(path + ".sha256")
	if errors.Is(err, fs.ErrNotExist) {
		return "has no checksum file beside it", nil
	}
	return "", err
}
