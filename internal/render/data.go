package render

import (
	"fmt"
	"path"
	"regexp"
	"strconv"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/roles"
)

// configData is the data the HCL templates execute with.
type configData struct {
	root     string
	Config   node.Config
	Instance node.Instance
	Secrets  map[string]string

	// Bind, Advertise and Client are IP addresses, evaluated from the
	// go-sockaddr templates in Config.Network.
	Bind, Advertise, Client string

	// NomadWorkloadIdentity selects the Vault integration of Nomad 1.7 and
	// later, where tasks get Vault tokens through workload identities.
	NomadWorkloadIdentity bool

	// VaultScheme is the scheme of Vault's API: "https", or "http" when
	// vault.tls_disable is set.
	VaultScheme string
}

// Path returns p, an absolute path on the node, prefixed with the root.
func (d *configData) Path(p string) string {
	return onNode(d.root, p)
}

func newConfigData(in Input, root string) (*configData, error) {
	bind, advertise, client, err := Addresses(in.Config.Network)
	if err != nil {
		return nil, err
	}
	identity, err := nomadWorkloadIdentity(in.Config.Nomad.Version)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if in.Config.Vault.TLSDisable {
		scheme = "http"
	}
	return &configData{
		root: root, Config: in.Config, Instance: in.Instance, Secrets: in.Secrets,
		Bind: bind, Advertise: advertise, Client: client,
		NomadWorkloadIdentity: identity, VaultScheme: scheme,
	}, nil
}

var versionPattern = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)([-+][0-9A-Za-z.+-]*)?$`)

// nomadWorkloadIdentity reports whether the installed Nomad, by the version
// the bake recorded, takes Vault tokens through workload identities. Nomad
// added them in 1.7 and made them the only mode in 1.10. An empty version
// means the newest Nomad.
func nomadWorkloadIdentity(version string) (bool, error) {
	if version == "" {
		return true, nil
	}
	m := versionPattern.FindStringSubmatch(version)
	if m == nil {
		return false, fmt.Errorf("nomad.version %q is not a version such as \"1.7.2\": fix the version file the AMI bake writes", version)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 1 || (major == 1 && minor >= 7), nil
}

// dropinData is the data dropin.conf executes with.
type dropinData struct {
	Unit  string
	Paths []string // configs that must exist, prefixed with the root
}

// planDropins returns, for each service with rendered configs, a drop-in
// that asserts those configs exist before the unit starts.
func planDropins(role roles.Role, unitDir, root string) ([]File, error) {
	if !path.IsAbs(unitDir) || path.Clean(unitDir) != unitDir {
		return nil, fmt.Errorf("systemd.unit_dir %q is not an absolute clean path: set it such as \"/etc/systemd/system\"", unitDir)
	}
	var files []File
	for _, svc := range role.Services {
		data := dropinData{Unit: svc.Unit}
		for _, f := range role.Files {
			if f.Service == svc.Name {
				data.Paths = append(data.Paths, onNode(root, f.Path))
			}
		}
		if len(data.Paths) == 0 {
			continue
		}
		out, err := execute("dropin.conf", data)
		if err != nil {
			return nil, err
		}
		files = append(files, File{
			Path: path.Join(unitDir, svc.Unit+".d", dropinName),
			Data: out, Mode: dropinMode,
			Owner: "root", Group: "root", UID: 0, GID: 0,
		})
	}
	return files, nil
}
