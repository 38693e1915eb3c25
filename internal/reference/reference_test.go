package reference

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/config"
	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/userdata"
)

var update = flag.Bool("update", false, "rewrite the generated pages under docs/")

const repoRoot = "../.."

// checkPage compares a generated page with the file in the repository, or
// rewrites the file with -update.
func checkPage(t *testing.T, name string, want []byte) {
	t.Helper()
	path := filepath.Join(repoRoot, name)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./internal/reference -update", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./internal/reference -update (-want +got):\n%s", name, diff)
	}
}

func TestUserDataReferenceCurrent(t *testing.T) {
	checkPage(t, "docs/user-data.md", UserData())
}

func TestUserDataReferenceListsEveryKey(t *testing.T) {
	page := string(UserData())
	for _, k := range config.Keys() {
		if !strings.Contains(page, "| `"+k.Name+"` |") {
			t.Errorf("docs/user-data.md has no row for %s", k.Name)
		}
	}
}

var shippedUnits = []string{"bootstrap.service", "consul.service", "nomad.service", "vault.service"}

// maxExposure is the highest overall exposure each hardened unit may have.
var maxExposure = map[string]float64{"consul.service": 3.0, "vault.service": 3.0}

func TestSecurityReportCurrent(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skipf("skip: systemd-analyze not installed: %v", err)
	}
	var scores []Exposure
	for _, unit := range shippedUnits {
		s, err := Score(t.Context(), analyze, filepath.Join(repoRoot, "systemd", unit))
		if err != nil {
			t.Fatal(err)
		}
		if limit, ok := maxExposure[unit]; ok && s.Score > limit {
			t.Errorf("%s exposure = %.1f, want at most %.1f", unit, s.Score, limit)
		}
		scores = append(scores, s)
	}
	version, err := Version(t.Context(), analyze)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, "docs/security.md", Security(scores, version))
}

// TestExampleEnvironments loads every environment file the bake can use,
// with the Nomad version filled in as the bake does, through the agent's
// own config parser.
func TestExampleEnvironments(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot, "packer/environments/*.toml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no environment files: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg := loadConfig(t, bakedFile(t, p), nil)
			if cfg.Nomad.Version != "1.6.2" {
				t.Errorf("nomad.version = %q, want the baked 1.6.2", cfg.Nomad.Version)
			}
		})
	}
}

func bakedFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("@NOMAD_VERSION@")) {
		t.Fatalf("%s has no @NOMAD_VERSION@ placeholder, which the bake requires", path)
	}
	return bytes.ReplaceAll(data, []byte("@NOMAD_VERSION@"), []byte("1.6.2"))
}

var exampleInstance = node.Instance{
	InstanceID: "i-0123456789abcdef0", AccountID: "123456789012", Region: "eu-west-1",
	AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3",
}

func loadConfig(t *testing.T, file, userData []byte) node.Config {
	t.Helper()
	flags := []config.Flag{}
	if userData == nil {
		flags = []config.Flag{
			{Key: "role", Value: "nomad-client", Name: "--role"},
			{Key: "namespace", Value: "payments", Name: "--set"},
		}
	}
	cfg, _, err := config.Load(config.Sources{
		File: file, FilePath: "/etc/bootstrap/bootstrap.toml",
		UserData: userData, Flags: flags, Instance: exampleInstance,
	})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	return cfg
}

var mimeBlock = regexp.MustCompile("(?s)```mime\n(.*?)```")

// TestLaunchExampleUserData decodes the MIME multipart example of
// docs/launch.md as the agent does, and loads its TOML part over the
// example environment's file.
func TestLaunchExampleUserData(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(repoRoot, "docs/launch.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := mimeBlock.FindSubmatch(page)
	if m == nil {
		t.Fatal("docs/launch.md has no ```mime block")
	}
	res, err := userdata.Decode(m[1])
	if err != nil {
		t.Fatalf("userdata.Decode: %v", err)
	}
	if !res.Ours {
		t.Fatalf("the example is not read as a bootstrap document (kind %q)", res.Kind)
	}
	file := bakedFile(t, filepath.Join(repoRoot, "packer/environments/example.toml"))
	cfg := loadConfig(t, file, res.Doc)
	got := []string{cfg.Role, cfg.Namespace, cfg.NodeClass, cfg.Environment}
	want := []string{"nomad-client", "payments", "payments", "example"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("role, namespace, node_class, environment (-want +got):\n%s", diff)
	}
}

// notAgent lists the directories of test harnesses, stand-ins and tools,
// whose errors the agent never prints.
var notAgent = []string{
	"internal/standin", "internal/testenv", "internal/demo", "internal/bench",
	"internal/e2e", "internal/realservers", "internal/reference", "internal/iampolicy",
}

// TestTroubleshootingCoversErrors fails when an error class of the agent
// has no row in docs/troubleshooting.md.
func TestTroubleshootingCoversErrors(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(repoRoot, "docs/troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	sentinels, err := Sentinels(repoRoot, notAgent)
	if err != nil {
		t.Fatal(err)
	}
	if len(sentinels) < 10 {
		t.Fatalf("found %d error classes; the scan is broken", len(sentinels))
	}
	for _, s := range sentinels {
		if !bytes.Contains(page, []byte("`"+s.Message)) {
			t.Errorf("docs/troubleshooting.md has no row for %s (%q)", s.Name, s.Message)
		}
	}
}
