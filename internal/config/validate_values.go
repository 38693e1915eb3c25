package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	sockaddrtemplate "github.com/hashicorp/go-sockaddr/template"
)

// checkJoin requires a non-empty join list for each service of the role
// that joins a cluster, and a DNS name in every entry of every list.
//
// IP addresses are rejected: peers in other accounts are found by DNS name,
// and the units stage waits for each name to resolve so that a name that
// resolves to nothing is reported as itself, not as a join timeout.
func checkJoin(v *validator) *Error {
	lists := map[string][]string{
		"consul": v.cfg.Join.Consul, "nomad": v.cfg.Join.Nomad, "vault": v.cfg.Join.Vault,
	}
	for _, svc := range v.role.Services {
		if svc.Join != "" && len(lists[svc.Join]) == 0 {
			return v.missing("join."+svc.Join, fmt.Sprintf(
				`role %s joins the %s servers: list their DNS names, such as `+
					`join.%s = ["%s-servers.ops.example.internal"]`,
				v.role.Name, svc.Join, svc.Join, svc.Join))
		}
	}
	for _, name := range []string{"consul", "nomad", "vault"} {
		for i, entry := range lists[name] {
			if reason, fix := checkDNSName(entry); reason != "" {
				return v.invalidEntry("join."+name, i, entry, reason, fix)
			}
		}
	}
	return nil
}

var dnsLabelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// checkDNSName returns a reason and a fix when name is not a lower-case
// DNS name (RFC 1123) without a port.
func checkDNSName(name string) (reason, fix string) {
	const nameFix = "use a lower-case DNS name of letters, digits, '-' and '.', " +
		"such as consul-servers.ops.example.internal"
	if _, err := netip.ParseAddr(strings.Trim(name, "[]")); err == nil {
		return "is an IP address, not a DNS name", nameFix
	}
	if host, _, err := net.SplitHostPort(name); err == nil && host != "" {
		return "has a port", "remove the port: agents join on their default ports"
	}
	if name == "" || len(name) > 253 {
		return "is not a valid DNS name", nameFix + ", at most 253 characters"
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if !dnsLabelPattern.MatchString(label) {
			return "is not a valid DNS name", nameFix
		}
	}
	if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
		return "is not a valid DNS name", nameFix
	}
	return "", ""
}

// checkVault checks where and how the node logs in to Vault. An empty
// address is accepted: the secrets stage requires one when a role needs
// secrets.
func checkVault(v *validator) *Error {
	if err := checkURL(v, "vault.address", v.cfg.Vault.Address,
		`"https://vault.ops.example.internal:8200"`); err != nil {
		return err
	}
	if !authPathPattern.MatchString(v.cfg.Vault.AuthPath) {
		return v.invalid("vault.auth_path", v.cfg.Vault.AuthPath, "is not a valid mount path",
			`use the AWS auth method's mount path without leading or trailing '/', such as "aws"`)
	}
	return checkLoopbackOnly(v)
}

var authPathPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

// checkURL accepts an empty value or an absolute http or https URL without
// user information, query or fragment. A URL's user information, query and
// fragment may carry a password or token, so errors never show them.
func checkURL(v *validator, key, value, example string) *Error {
	if value == "" {
		return nil
	}
	fix := "use an absolute http or https URL, such as " + example
	shown, cut := withoutQuery(value)
	u, err := url.Parse(value)
	if err == nil && u.User != nil {
		e := v.invalid(key, "", "contains user information (value not shown)",
			"remove the user and password from the URL: secrets come from Vault")
		e.Err = ErrSecret
		return e
	}
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" ||
		u.Opaque != "" {
		if strings.Contains(shown, "@") {
			// The value may hold user information that did not parse.
			shown, cut = "", " (value not shown)"
		}
		return v.invalid(key, shown, "is not an absolute http or https URL"+cut, fix)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return v.invalid(key, shown, "has a query or fragment"+cut,
			"remove everything from '?' or '#' on: secrets come from Vault, not from URLs")
	}
	return nil
}

// withoutQuery cuts a URL at its first '?' or '#', and returns a note for
// the error's reason when it cut anything.
func withoutQuery(value string) (shown, note string) {
	i := strings.IndexAny(value, "?#")
	if i < 0 {
		return value, ""
	}
	return value[:i], " (query and fragment not shown)"
}

// redactURL returns u without user information, query and fragment.
func redactURL(u *url.URL) string {
	clean := *u
	clean.User, clean.RawQuery, clean.Fragment, clean.RawFragment = nil, "", "", ""
	clean.ForceQuery = false
	return clean.String()
}

// checkSeal checks Vault's awskms auto-unseal settings.
func checkSeal(v *validator) *Error {
	if v.cfg.Role == roleVaultServer && v.cfg.Seal.KMSKeyID == "" {
		return v.missing("seal.kms_key_id",
			"set seal.kms_key_id to the id, ARN or alias of the KMS key that unseals Vault")
	}
	return checkURL(v, "seal.endpoint", v.cfg.Seal.Endpoint,
		`"https://kms.eu-west-1.amazonaws.com"`)
}

// lifecycleHookPattern is the form of an Auto Scaling lifecycle hook name.
var lifecycleHookPattern = regexp.MustCompile(`^[A-Za-z0-9_/-]{1,255}$`)

func checkLifecycle(v *validator) *Error {
	lc := v.cfg.Lifecycle
	if lc.OnFailure != "abandon" && lc.OnFailure != "hold" {
		return v.invalid("lifecycle.on_failure", lc.OnFailure, "is not a failure action",
			`use "abandon" or "hold"`)
	}
	if lc.Hook != "" && !lifecycleHookPattern.MatchString(lc.Hook) {
		return v.invalid("lifecycle.hook", lc.Hook, "is not a valid lifecycle hook name",
			"use letters, digits, '-', '_' and '/', at most 255 characters, "+
				"or leave it empty to use the group's launching hook")
	}
	if w := lc.MaxWait.Duration; w < minMaxWait || w > maxMaxWait {
		return v.invalid("lifecycle.max_wait", lc.MaxWait.String(), "is out of range",
			fmt.Sprintf("use a duration from %s to %s, such as \"10m\"", minMaxWait, maxMaxWait))
	}
	if i := lc.HeartbeatInterval.Duration; i != 0 && (i < minHeartbeat || i > maxHeartbeat) {
		return v.invalid("lifecycle.heartbeat_interval", lc.HeartbeatInterval.String(),
			"is out of range", fmt.Sprintf("use a duration from %s to %s, such as \"1m\", "+
				"or leave it empty to follow the hook's heartbeat timeout", minHeartbeat, maxHeartbeat))
	}
	return nil
}

// Limits of lifecycle.max_wait and lifecycle.heartbeat_interval. A
// lifecycle action stays open for at most 48 hours, and a hook's heartbeat
// timeout is at most 2 hours.
const (
	minMaxWait   = 10 * time.Second
	maxMaxWait   = 48 * time.Hour
	minHeartbeat = time.Second
	maxHeartbeat = time.Hour
)

// checkNetwork parses the address templates without evaluating them: the
// render stage evaluates them on the node's interfaces.
func checkNetwork(v *validator) *Error {
	n := v.cfg.Network
	templates := []struct {
		key, value string
		required   bool
	}{
		{"network.bind", n.Bind, true},
		{"network.advertise", n.Advertise, false},
		{"network.client", n.Client, true},
	}
	const fix = `use an IP address or a go-sockaddr template, such as "{{ GetPrivateIP }}"`
	for _, t := range templates {
		if t.value == "" {
			if t.required {
				return v.missing(t.key, fix)
			}
			continue
		}
		if err := parseSockaddrTemplate(t.key, t.value); err != nil {
			return v.invalid(t.key, t.value,
				"is not a valid go-sockaddr template: "+err.Error(), fix)
		}
	}
	return nil
}

// parseSockaddrTemplate parses text with the functions that go-sockaddr's
// template.Parse offers, which is how the render stage will evaluate it.
func parseSockaddrTemplate(name, text string) error {
	_, err := template.New(name).Option("missingkey=error").
		Funcs(sockaddrtemplate.SourceFuncs).
		Funcs(sockaddrtemplate.SortFuncs).
		Funcs(sockaddrtemplate.FilterFuncs).
		Funcs(sockaddrtemplate.HelperFuncs).
		Parse(text)
	return err
}

// Limits of dns.wait. The runner gives the units stage, which waits for the
// join names before it starts any unit, 10 minutes in all.
const (
	minDNSWait = time.Second
	maxDNSWait = 10 * time.Minute
)

func checkDNS(v *validator) *Error {
	d := v.cfg.DNS
	if d.Server != "" {
		host, port, err := net.SplitHostPort(d.Server)
		_, addrErr := netip.ParseAddr(host)
		n, portErr := strconv.Atoi(port)
		if err != nil || addrErr != nil || portErr != nil || n < 1 || n > 65535 {
			return v.invalid("dns.server", d.Server, "is not an IP address and port",
				`use an address and port, such as "10.0.0.2:53" or "[fd00::2]:53", `+
					"or leave it empty for the system resolver")
		}
	}
	if d.Wait.Duration < minDNSWait || d.Wait.Duration > maxDNSWait {
		return v.invalid("dns.wait", d.Wait.String(), "is out of range",
			fmt.Sprintf("use a duration from %s to %s, such as \"2m\"", minDNSWait, maxDNSWait))
	}
	return nil
}

func checkSystemd(v *validator) *Error {
	dir := v.cfg.Systemd.UnitDir
	if !path.IsAbs(dir) || path.Clean(dir) != dir {
		return v.invalid("systemd.unit_dir", dir, "is not an absolute, clean path",
			`use an absolute path without "..", "." or a trailing '/', such as "/etc/systemd/system"`)
	}
	return nil
}

var (
	versionPattern     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	fingerprintPattern = regexp.MustCompile(`^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$`)
)

func checkNomad(v *validator) *Error {
	n := v.cfg.Nomad
	if n.Version != "" && !versionPattern.MatchString(n.Version) {
		return v.invalid("nomad.version", n.Version, "is not a version",
			`use MAJOR.MINOR.PATCH, such as "1.6.2", or leave it empty`)
	}
	for i, name := range n.FingerprintDenylist {
		if !fingerprintPattern.MatchString(name) {
			return v.invalidEntry("nomad.fingerprint_denylist", i, name, "is not a fingerprinter name",
				`use lower-case letters, digits, '_' and '-', starting with a letter, such as "env_aws"`)
		}
	}
	return nil
}

// Limits of consul.bootstrap_expect and nomad.bootstrap_expect. An even
// count is accepted: it tolerates no more failures than the odd count below
// it, but it works.
const (
	minBootstrapExpect = 1
	maxBootstrapExpect = 9
)

func checkBootstrapExpect(v *validator) *Error {
	counts := []struct {
		key   string
		value int
	}{
		{"consul.bootstrap_expect", v.cfg.Consul.BootstrapExpect},
		{"nomad.bootstrap_expect", v.cfg.Nomad.BootstrapExpect},
	}
	for _, c := range counts {
		if c.value < minBootstrapExpect || c.value > maxBootstrapExpect {
			return v.invalid(c.key, strconv.Itoa(c.value), "is out of range",
				fmt.Sprintf("use a number of servers from %d to %d, such as 3",
					minBootstrapExpect, maxBootstrapExpect))
		}
	}
	return nil
}
