package harness

import (
	"os"
	"testing"

	"github.com/hashistack/bootstrap/internal/realservers"
)

// RequireEnv is the environment variable that turns a missing real server
// into a test failure instead of a skip. CI sets it to 1.
const RequireEnv = "BOOTSTRAP_REQUIRE_REAL_SERVERS"

// Binaries returns the path of each named server's binary. When one is
// missing it skips the test with the reason, or fails it when [RequireEnv]
// is set. The servers also need root, because the Nomad client and the
// contained systemd manager do.
func Binaries(t testing.TB, names ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, name := range names {
		path, err := realservers.Path(name)
		if err != nil {
			skipOrFail(t, "real server unavailable: %v", err)
		}
		paths[name] = path
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "real servers need root: the Nomad client and the systemd manager need it")
	}
	return paths
}

func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf(format+" (%s is set)", append(args, RequireEnv)...)
	}
	t.Skipf(format, args...)
}
