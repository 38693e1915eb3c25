package config

import (
	"sort"
	"strings"

	"github.com/hashistack/bootstrap/internal/node"
)

// layer is the part of the configuration that one source sets: a config
// with its values, and the source of each key it sets.
type layer struct {
	cfg     node.Config
	sources map[string]string
}

func newLayer() layer {
	return layer{sources: map[string]string{}}
}

// defaultLayer holds the built-in constant defaults of keyTable.
func defaultLayer() layer {
	l := newLayer()
	for i := range keyDefs {
		k := &keyDefs[i]
		if k.Default == "" {
			continue
		}
		if err := k.setText(&l.cfg, k.Default); err != nil {
			panic("config: default of " + k.Name + ": " + err.Error())
		}
		l.sources[k.Name] = sourceDefault
	}
	return l
}

// decodeTags reads the tags under prefix into a layer. Tags without the
// prefix belong to others and are skipped.
func decodeTags(tags map[string]string, prefix string) (layer, error) {
	var names []string
	for full := range tags {
		if strings.HasPrefix(full, prefix) {
			names = append(names, full)
		}
	}
	sort.Strings(names)
	for _, full := range names {
		if err := checkTag(full, strings.TrimPrefix(full, prefix), tags[full]); err != nil {
			return layer{}, err
		}
	}
	l := newLayer()
	for _, full := range names {
		name := strings.TrimPrefix(full, prefix)
		source := "tag " + full
		def := keyByName[name]
		if def == nil {
			return layer{}, &Error{Key: name, Source: source, Reason: "is not a known key",
				Fix: knownKeysHint(name), Err: ErrUnknownKey}
		}
		if _, restricted := restrictedKeys[name]; restricted {
			return layer{}, restrictedError(name, source)
		}
		if err := def.setText(&l.cfg, tags[full]); err != nil {
			err.Source = source
			return layer{}, err
		}
		l.sources[name] = source
	}
	return l, nil
}

// checkTag rejects a tag whose key looks like a secret or whose value looks
// like a credential.
func checkTag(full, name, value string) error {
	segments := strings.Split(name, ".")
	if isSecretKeyName(segments[len(segments)-1]) {
		return &Error{Key: name, Source: "tag " + full, Reason: "looks like a secret",
			Fix: secretFix + "; delete the tag", Err: ErrSecret}
	}
	if looksLikeCredential(value) {
		return &Error{Key: name, Source: "tag " + full,
			Reason: "has a value that looks like a credential (value not shown)",
			Fix:    secretFix + "; delete the tag", Err: ErrSecret}
	}
	return nil
}

// decodeFlags reads command-line flags into a layer, later flags winning.
func decodeFlags(flags []Flag) (layer, error) {
	l := newLayer()
	for _, f := range flags {
		def := keyByName[f.Key]
		if def == nil {
			return layer{}, &Error{Key: f.Key, Source: "flag " + f.Name,
				Reason: "is not a known key", Fix: knownKeysHint(f.Key), Err: ErrUnknownKey}
		}
		if looksLikeCredential(f.Value) {
			return layer{}, &Error{Key: f.Key, Source: f.source(),
				Reason: "has a value that looks like a credential (value not shown)",
				Fix: "remove it, because every process on the host can read a process's " +
					"arguments: secrets come from Vault",
				Err: ErrSecret}
		}
		if err := def.setText(&l.cfg, f.Value); err != nil {
			err.Source = f.source()
			return layer{}, err
		}
		l.sources[f.Key] = f.source()
	}
	return l, nil
}
