package config

import (
	"net/netip"
	"net/url"
	"sort"
	"strings"
)

// restrictedKeys are the keys that only the AMI's file or a flag may set,
// with the reason. Anyone allowed to launch or tag an instance can write
// its tags and user-data, a wider group than those who bake the AMI, so
// those sources must not weaken a node's security or redirect what it
// trusts.
var restrictedKeys = map[string]string{
	"tags.prefix":       "decides which tags are read",
	"vault.tls_disable": "turns off TLS on the Vault listener",
	"dns.server":        "decides which server resolves the join names",
	"seal.endpoint":     "decides where Vault sends its unseal requests",
	"systemd.unit_dir":  "decides where unit files are written as root",
	// The namespace binding checks the paths below a mount; a mount from
	// user-data could point the node at another namespace's secrets.
	"secrets.kv_mount":     "decides which Vault mount the node's secrets come from",
	"secrets.consul_mount": "decides which Vault mount the node's secrets come from",
	"secrets.pki_mount":    "decides which Vault mount the node's secrets come from",
	"vault.auth_path":      "decides which Vault auth method the node logs in with",
}

// bakedFilePath is the path at which the AMI bake writes the configuration file.
const bakedFilePath = "/etc/bootstrap/bootstrap.toml"

// restrictedError rejects a restricted key set by source, a tag or a line
// of user-data.
func restrictedError(name, source string) *Error {
	return &Error{Key: name, Source: source,
		Reason: "can be set only in the configuration file or with a flag, because it " +
			restrictedKeys[name],
		Fix: "remove it here, and set it in " + bakedFilePath + ", which the bake writes",
		Err: ErrRestrictedKey}
}

// checkRestricted rejects the first restricted key, in name order, that l
// sets.
func checkRestricted(l layer) error {
	var names []string
	for name := range l.sources {
		if _, restricted := restrictedKeys[name]; restricted {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return restrictedError(names[0], l.sources[names[0]])
}

// checkLoopbackOnly rejects the settings that are safe only on the node
// itself: plain-HTTP Vault addresses off loopback, and a Vault listener
// without TLS bound to a non-loopback address.
func checkLoopbackOnly(v *validator) *Error {
	c := v.cfg
	if u, err := url.Parse(c.Vault.Address); err == nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return v.invalid("vault.address", redactURL(u), "uses http on a host that is not loopback",
			"use https, because the login request and the Vault token would otherwise cross "+
				"the network in plain text. http is accepted only for 127.0.0.1, ::1 and localhost")
	}
	if !c.Vault.TLSDisable {
		return nil
	}
	// NOTE: only a literal IP address is checked here. A go-sockaddr
	// template such as "{{ GetPrivateIP }}" is evaluated on the node's
	// interfaces in the render stage, so a template bind passes this check.
	if addr, err := netip.ParseAddr(strings.TrimSpace(c.Network.Bind)); err == nil && !addr.IsLoopback() {
		return v.invalid("vault.tls_disable", "true",
			"turns TLS off, but network.bind "+quote(c.Network.Bind)+" set by "+
				v.prov["network.bind"]+" is not a loopback address",
			"set vault.tls_disable = false, or bind to 127.0.0.1 for a test cluster on one host")
	}
	return nil
}

// isLoopbackHost reports whether host is a loopback IP address or
// "localhost".
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}
