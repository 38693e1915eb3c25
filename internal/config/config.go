// Package config is the config stage: it merges the node's inputs into the
// effective node.Config, records where every value came from, and
// validates the result.
//
// The inputs, each later one winning key by key, are the built-in
// defaults, the AMI's /etc/bootstrap/bootstrap.toml, the instance tags
// under a prefix (default "hashistack:"), the TOML document in user-data,
// and command-line flags. Two inputs that set different roles are an
// error rather than an override, because the role decides everything the
// node does.
//
// Provenance values are "default", "default from KEY" (a value copied from
// another key, such as datacenter from region), "instance id", "instance
// identity document", "file PATH line N", "tag KEY", "user-data line N" and
// "flag NAME" (for --set, "flag --set KEY").
//
// Every failure is one *Error naming the key, its value, its source and a
// fix. The package never puts a value that looks like a credential into an
// error, and it never logs: it performs no I/O at all, so the runner reads
// the file and the instance metadata and passes them in.
package config

import (
	"errors"
	"strings"

	"github.com/hashistack/bootstrap/internal/node"
)

// Sources are the inputs of the config stage, as the runner read them.
type Sources struct {
	// File is the content of /etc/bootstrap/bootstrap.toml. It is nil when
	// the file is absent.
	File []byte
	// FilePath is the file's path as shown in messages.
	FilePath string
	// Tags contains every instance tag by its full key.
	Tags map[string]string
	// UserData is the TOML document that userdata.Decode found. It is nil
	// when the user-data has none.
	UserData []byte
	// Flags are the command-line settings in the order given.
	Flags []Flag
	// Instance supplies the defaults of region and node_name.
	Instance node.Instance
}

// Flag is one command-line setting, such as
// {Key: "role", Value: "nomad-client", Name: "--role"} or
// {Key: "join.consul", Value: "a.example,b.example", Name: "--set"}.
// A list value is comma-separated.
type Flag struct {
	Key   string
	Value string
	// Name is the flag as typed, used in provenance and errors.
	Name string
}

// source names the flag in provenance: "flag --role", or "flag --set
// join.consul" when the flag's name does not name the key.
func (f Flag) source() string {
	if strings.TrimLeft(f.Name, "-") == f.Key {
		return "flag " + f.Name
	}
	return "flag " + f.Name + " " + f.Key
}

// Provenance values that are not a source of their own.
const (
	sourceDefault    = "default"
	sourceInstanceID = "instance id"
	sourceIdentity   = "instance identity document"
)

const defaultTagPrefix = "hashistack:"

// Load merges the sources into the effective configuration, records the
// provenance of every key, and validates the result. The error is an
// *Error.
func Load(s Sources) (node.Config, node.Provenance, error) {
	cfg, prov, err := load(s)
	if err != nil {
		return node.Config{}, nil, withholdCredentials(err)
	}
	return cfg, prov, nil
}

func load(s Sources) (node.Config, node.Provenance, error) {
	layers, err := decodeAll(s)
	if err != nil {
		return node.Config{}, nil, err
	}
	if err := checkRoles(layers, s.Flags); err != nil {
		return node.Config{}, nil, err
	}
	cfg, prov := merge(layers.ordered())
	applyDerivedDefaults(&cfg, prov, s.Instance)
	if err := validate(&cfg, prov); err != nil {
		return node.Config{}, nil, err
	}
	return cfg, prov, nil
}

// withholdCredentials removes credential-looking text from an *Error. User-data
// and tags never get this far with one, but the file and flags are not
// checked for secrets, and a credential there must not reach a log either.
func withholdCredentials(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	if looksLikeCredential(e.Value) {
		e.Value = ""
		e.Reason += " (value not shown)"
	}
	e.Reason = redactCredentials(e.Reason)
	return e
}

// sourceLayers holds the decoded layer of each source.
type sourceLayers struct {
	defaults, file, tags, userData, flags layer
}

func (sl *sourceLayers) ordered() []layer {
	return []layer{sl.defaults, sl.file, sl.tags, sl.userData, sl.flags}
}

// decodeAll decodes every source. The flags are decoded before the tags
// because they may set the tag prefix.
func decodeAll(s Sources) (*sourceLayers, error) {
	sl := &sourceLayers{defaults: defaultLayer(), file: newLayer(), userData: newLayer()}
	var err error
	if s.File != nil {
		ts := tomlSource{origin: "file " + s.FilePath}
		if sl.file, err = decodeTOML(s.File, ts); err != nil {
			return nil, err
		}
	}
	if sl.flags, err = decodeFlags(s.Flags); err != nil {
		return nil, err
	}
	prefix, err := tagPrefix(sl)
	if err != nil {
		return nil, err
	}
	if sl.tags, err = decodeTags(s.Tags, prefix); err != nil {
		return nil, err
	}
	if s.UserData != nil {
		ts := tomlSource{origin: "user-data", untrusted: true}
		if sl.userData, err = decodeTOML(s.UserData, ts); err != nil {
			return nil, err
		}
		if err := checkRestricted(sl.userData); err != nil {
			return nil, err
		}
	}
	return sl, nil
}

// tagPrefix returns the tag prefix that the flags, the file or the default
// set, and checks it: AWS tag keys are at most 128 characters and the
// "aws:" prefix is reserved.
func tagPrefix(sl *sourceLayers) (string, error) {
	prefix, source := defaultTagPrefix, sourceDefault
	for _, l := range []layer{sl.file, sl.flags} {
		if src, set := l.sources["tags.prefix"]; set {
			prefix, source = l.cfg.Tags.Prefix, src
		}
	}
	e := &Error{Key: "tags.prefix", Value: prefix, Source: source, Err: ErrInvalidValue,
		Fix: `use a short prefix that ends in ':', such as "hashistack:"`}
	switch {
	case prefix == "":
		e.Reason = "is empty, which would read every tag as configuration"
	case len(prefix) >= 128:
		e.Reason = "is 128 characters or longer, the limit of a whole tag key"
	case strings.HasPrefix(strings.ToLower(prefix), "aws:"):
		e.Reason = `starts with "aws:", which AWS reserves`
	case hasControl(prefix):
		e.Reason = "contains a control character"
	default:
		return prefix, nil
	}
	return "", e
}

// merge overlays the layers in order and records the source of each key.
// A key that no layer sets keeps its zero value with source "default".
func merge(layers []layer) (node.Config, node.Provenance) {
	var cfg node.Config
	prov := make(node.Provenance, len(keyDefs))
	for i := range keyDefs {
		k := &keyDefs[i]
		prov[k.Name] = sourceDefault
		for _, l := range layers {
			if src, set := l.sources[k.Name]; set {
				k.field(&cfg).Set(k.field(&l.cfg))
				prov[k.Name] = src
			}
		}
	}
	return cfg, prov
}

// applyDerivedDefaults fills the empty keys whose default comes from the
// instance or from another key, so an empty string set by a source also
// means the default. Keys are filled in dependency order: region before
// datacenter and seal.region.
func applyDerivedDefaults(cfg *node.Config, prov node.Provenance, inst node.Instance) {
	fill := func(key string, field *string, value, source string) {
		if *field == "" && value != "" {
			*field = value
			prov[key] = source
		}
	}
	fill("region", &cfg.Region, inst.Region, sourceIdentity)
	fill("node_name", &cfg.NodeName, inst.InstanceID, sourceInstanceID)
	fill("datacenter", &cfg.Datacenter, cfg.Region, "default from region")
	fill("seal.region", &cfg.Seal.Region, cfg.Region, "default from region")
	fill("vault.role", &cfg.Vault.Role, cfg.Namespace, "default from namespace")
	fill("vault.sts_region", &cfg.Vault.STSRegion, cfg.Region, "default from region")
	fill("nomad.vault_mode", &cfg.Nomad.VaultMode, defaultVaultMode(cfg.Nomad.Version),
		"default from nomad.version")
	if cfg.Role == roleNomadClient {
		fill("node_class", &cfg.NodeClass, cfg.Namespace, "default from namespace")
	}
}

// roleClaim is one source's value of role.
type roleClaim struct{ source, value string }

// checkRoles rejects two sources, or two --role flags, that set different
// roles. An empty value claims nothing.
func checkRoles(sl *sourceLayers, flags []Flag) error {
	var claims []roleClaim
	for _, l := range []layer{sl.file, sl.tags, sl.userData} {
		if src, set := l.sources["role"]; set {
			claims = append(claims, roleClaim{src, l.cfg.Role})
		}
	}
	for _, f := range flags {
		if f.Key == "role" {
			claims = append(claims, roleClaim{f.source(), f.Value})
		}
	}
	var first roleClaim
	for _, c := range claims {
		switch {
		case c.value == "":
		case first.value == "":
			first = c
		case c.value != first.value:
			return &Error{Key: "role", Value: c.value, Source: c.source,
				Reason: "differs from role " + quote(first.value) + " set by " + first.source,
				Fix:    "remove one of them or make them agree", Err: ErrRoleConflict}
		}
	}
	return nil
}
