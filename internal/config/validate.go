package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/roles"
)

// Role names that validation treats specially.
const (
	roleNomadClient = "nomad-client"
	roleVaultServer = "vault-server"
)

var (
	identifierPattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// hostLabelPattern is a hostname label (RFC 1123): upper-case letters are
	// allowed because DNS compares names without case.
	hostLabelPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
)

const identifierFix = "use lower-case letters, digits and '-', starting with a letter and " +
	"ending with a letter or digit, at most 63 characters"

// validator checks the merged configuration; prov supplies the source of
// each value for the error.
type validator struct {
	cfg  *node.Config
	prov node.Provenance
	role roles.Role
}

func (v *validator) invalid(key, value, reason, fix string) *Error {
	return &Error{Key: key, Value: value, Source: v.prov[key], Reason: reason, Fix: fix,
		Err: ErrInvalidValue}
}

// missing reports a required key without a value. When no source set the
// key at all, the error names no source, because the key is missing from
// every one of them.
func (v *validator) missing(key, fix string) *Error {
	if v.prov[key] == sourceDefault {
		return &Error{Key: key, Reason: "is missing from every source (file, tags, user-data, flags)",
			Fix: fix, Err: ErrMissing}
	}
	return &Error{Key: key, Source: v.prov[key], Reason: "is empty", Fix: fix, Err: ErrMissing}
}

// invalidEntry reports entry number i (from 0) of the list key.
func (v *validator) invalidEntry(key string, i int, value, reason, fix string) *Error {
	e := v.invalid(key, value, reason, fix)
	e.Entry = i + 1
	return e
}

// validate runs every check in order and returns the first failure.
func validate(cfg *node.Config, prov node.Provenance) error {
	v := &validator{cfg: cfg, prov: prov}
	checks := []func(*validator) *Error{
		checkText,
		checkRole,
		checkIdentifiers,
		checkNodeName,
		checkNamespaceBound,
		checkJoin,
		checkVault,
		checkSeal,
		checkSecretSources,
		checkLifecycle,
		checkNetwork,
		checkDNS,
		checkSystemd,
		checkNomad,
		checkBootstrapExpect,
	}
	for _, check := range checks {
		if err := check(v); err != nil {
			return err
		}
	}
	return nil
}

// checkText rejects control characters, invalid UTF-8 and "${" in every
// string and list entry. Free text may hold anything else: the renderer
// quotes it. HCL v1 reads "${" in a quoted string as the start of an
// interpolation and has no escape for it, so no value may contain it.
func checkText(v *validator) *Error {
	for i := range keyDefs {
		k := &keyDefs[i]
		var values []string
		switch k.Type {
		case TypeString:
			values = []string{k.field(v.cfg).String()}
		case TypeList:
			values = k.field(v.cfg).Interface().([]string)
		}
		for j, s := range values {
			if err := checkTextValue(v, k, j, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTextValue checks one value of key k, entry j of it for a list.
func checkTextValue(v *validator, k *keyDef, j int, s string) *Error {
	var reason, fix string
	switch {
	case hasControl(s):
		reason = "contains a control character or invalid UTF-8"
		fix = "remove newlines, tabs, NUL and other control characters"
	case strings.Contains(s, "${"):
		reason = `contains "${", which HCL v1 cannot escape`
		fix = "remove it"
	default:
		return nil
	}
	if k.Type == TypeList {
		return v.invalidEntry(k.Name, j, s, reason, fix)
	}
	return v.invalid(k.Name, s, reason, fix)
}

func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0
}

// checkRole requires a known role and loads its role file.
func checkRole(v *validator) *Error {
	known := strings.Join(roles.Names(), ", ")
	if v.cfg.Role == "" {
		return v.missing("role", fmt.Sprintf(
			"set role in user-data, the tag %srole or --role to one of %s",
			v.cfg.Tags.Prefix, known))
	}
	role, err := roles.Load(v.cfg.Role)
	if err != nil {
		return v.invalid("role", v.cfg.Role, "is not a known role", "use one of "+known)
	}
	v.role = role
	return nil
}

// checkIdentifiers checks the values that must match identifierPattern,
// each after checking that a required one is set.
func checkIdentifiers(v *validator) *Error {
	c := v.cfg
	identifiers := []struct{ key, value, missingFix string }{
		{"namespace", c.Namespace, "set namespace to the business unit the node serves"},
		{"environment", c.Environment, `set environment, such as "prod"`},
		{"region", c.Region, "set region, or run on EC2 where the identity document has it"},
		{"datacenter", c.Datacenter, ""},
		{"node_class", c.NodeClass, ""},
		{"vault.role", c.Vault.Role, ""},
		{"seal.region", c.Seal.Region, ""},
		{"vault.sts_region", c.Vault.STSRegion, ""},
	}
	for _, id := range identifiers {
		switch {
		case id.value == "" && id.missingFix != "":
			return v.missing(id.key, id.missingFix)
		case id.value != "" && !identifierPattern.MatchString(id.value):
			return v.invalid(id.key, id.value, "is not a valid identifier", identifierFix)
		}
	}
	return nil
}

func checkNodeName(v *validator) *Error {
	name := v.cfg.NodeName
	if name == "" {
		return v.missing("node_name", "set node_name, or run on EC2 where the instance id is used")
	}
	if !hostLabelPattern.MatchString(name) {
		return v.invalid("node_name", name, "is not a valid hostname label",
			"use letters, digits and '-', not starting or ending with '-', at most 63 characters")
	}
	return nil
}

// checkNamespaceBound checks the keys that must equal the namespace: the
// cluster's placement rules and Vault policies rely on them.
func checkNamespaceBound(v *validator) *Error {
	c := v.cfg
	differs := fmt.Sprintf("differs from namespace %s set by %s",
		quote(c.Namespace), v.prov["namespace"])
	if c.Role == roleNomadClient && c.NodeClass != c.Namespace {
		return v.invalid("node_class", c.NodeClass, differs,
			"remove node_class or set it to the namespace")
	}
	if c.Vault.Role != c.Namespace {
		return v.invalid("vault.role", c.Vault.Role, differs,
			"remove vault.role or set it to the namespace, because a node may request "+
				"only its namespace's Vault role")
	}
	return nil
}

func quote(s string) string { return strconv.Quote(s) }
