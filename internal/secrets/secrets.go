// Package secrets owns the secrets stage: one Vault login with the AWS IAM
// auth method, then every secret the role file declares, written below
// /run/bootstrap/<service>/ on tmpfs. It never writes a secret anywhere
// else, and never puts one in a log line, an error or its result.
//
// Decisions:
//
//   - Tmpfs: with an empty root, /run/bootstrap must be on tmpfs
//     (statfs TMPFS_MAGIC), or the stage fails before anything is fetched.
//     Under a test root the check is skipped, because t.TempDir is on disk.
//   - Layout: each service gets a 0700 directory owned by its user, with
//     0600 files: tls.crt, tls.key and ca.crt for a certificate, and
//     secrets.hcl, the include file holding the settings that carry a
//     secret (Consul's encrypt and acl.tokens.agent, Nomad's
//     server.encrypt and vault.token). The units load it beside the
//     rendered config (consul -config-file, nomad a second -config), so
//     the rendered configs on disk hold paths only. secrets.hcl is written
//     for every service, empty of settings when it has none, so the units
//     can always name it.
//   - Namespace binding: the Vault role must be the namespace, every
//     engine path must start with it, and every policy requested must be
//     the namespace or start with "<namespace>-". Anything else is
//     rejected before a request is sent.
//   - Secrets are fetched again at every boot; nothing is cached.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/vaultauth"
	"github.com/hashistack/bootstrap/roles"
)

// Dir is the tmpfs directory holding every service's secrets.
const Dir = "/run/bootstrap"

// IncludeFile is the name of each service's include file in its directory.
const IncludeFile = "secrets.hcl"

// Values of the configuration that select sources.
const (
	tlsSourceSecretsManager = "secrets-manager"
	vaultModeLegacyToken    = "legacy-token"
)

// ErrNamespace marks a request outside the node's namespace.
var ErrNamespace = errors.New("outside the node's namespace")

// SecretsManager is the part of the Secrets Manager client the stage uses;
// *secretsmanager.Client satisfies it.
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput,
		optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Options is everything Fetch needs.
type Options struct {
	// Root prefixes every path; "" is the real system.
	Root     string
	Role     roles.Role
	Config   node.Config
	Instance node.Instance
	// Vault is a client of the configured Vault, without a token.
	Vault *api.Client
	// Login signs the login; Role, Mount, STSRegion and ServerID are
	// filled from Config.
	Login vaultauth.Options
	// SecretsManager serves a Vault server's TLS material.
	SecretsManager SecretsManager
	Logger         *slog.Logger
}

// Result describes what Fetch wrote, without any secret.
type Result struct {
	// Secrets are the names of the secrets fetched, sorted.
	Secrets []string
	// Files are the paths written on the node, sorted.
	Files []string
	// Login describes the Vault token, or is nil when no login was needed.
	Login *vaultauth.Token
}

// Fetch logs in when a secret needs Vault, fetches every secret of the
// role concurrently and writes them to tmpfs.
func Fetch(ctx context.Context, o Options) (Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	plan, err := planSecrets(o.Role, o.Config)
	if err != nil {
		return Result{}, err
	}
	w, err := newWriter(o.Root, o.Role)
	if err != nil {
		return Result{}, err
	}
	var res Result

	// known collects every secret the stage holds, so that no error built
	// from a server's message repeats one.
	known := &vaultauth.Secrets{}
	client, token, err := login(ctx, o, plan, known)
	if err != nil {
		return Result{}, err
	}
	res.Login = token

	out, err := fetchAll(ctx, o, client, plan, known)
	if err != nil {
		return Result{}, err
	}
	files, err := w.write(out)
	if err != nil {
		return Result{}, err
	}
	for _, s := range plan {
		res.Secrets = append(res.Secrets, s.Name)
	}
	sort.Strings(res.Secrets)
	res.Files = files
	return res, nil
}

// login logs in to Vault when any planned secret comes from Vault, and
// returns a client that carries the token.
func login(ctx context.Context, o Options, plan []roles.Secret, known *vaultauth.Secrets) (*api.Client, *vaultauth.Token, error) {
	if !slices.ContainsFunc(plan, func(s roles.Secret) bool { return s.Kind != roles.KindVaultTLS }) {
		return nil, nil, nil
	}
	if o.Vault == nil {
		return nil, nil, errors.New("role " + o.Role.Name + " needs Vault: set vault.address " +
			"or VAULT_ADDR")
	}
	c := o.Config
	lo := o.Login
	lo.Secrets = known
	lo.Role, lo.Mount, lo.STSRegion, lo.ServerID = c.Vault.Role, c.Vault.AuthPath,
		c.Vault.STSRegion, c.Vault.ServerID
	if lo.Role != c.Namespace {
		return nil, nil, fmt.Errorf("vault role %q: %w %q", lo.Role, ErrNamespace, c.Namespace)
	}
	token, err := vaultauth.Login(ctx, o.Vault, lo, o.Logger)
	if err != nil {
		return nil, nil, err
	}
	o.Logger.Info("vault login succeeded", "vault_role", lo.Role, "token", token,
		"policies", token.Policies)
	client, err := o.Vault.Clone()
	if err != nil {
		return nil, nil, fmt.Errorf("vault client: %w", err)
	}
	client.SetToken(token.Value())
	return client, token, nil
}

// output is what the fetchers produce: settings for each service's include
// file and whole files, both by service. Every value is also added to
// known.
type output struct {
	mu       sync.Mutex
	settings map[string]map[string]string
	files    map[string]map[string]string
	known    *vaultauth.Secrets
}

func (o *output) setting(service, key, value string) {
	o.known.Add(value)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.settings[service] == nil {
		o.settings[service] = map[string]string{}
	}
	o.settings[service][key] = value
}

func (o *output) file(service, name, value string) {
	o.known.Add(value)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.files[service] == nil {
		o.files[service] = map[string]string{}
	}
	o.files[service][name] = value
}

// fetchAll fetches every planned secret concurrently. Its error names each
// secret that failed, on one line, so that the stage's verdict stays one
// line on stderr and in the state file.
func fetchAll(ctx context.Context, o Options, client *api.Client, plan []roles.Secret,
	known *vaultauth.Secrets) (*output, error) {
	out := &output{settings: map[string]map[string]string{}, files: map[string]map[string]string{},
		known: known}
	errs := make([]error, len(plan))
	var wg sync.WaitGroup
	for i, s := range plan {
		wg.Go(func() {
			f := fetcher{o: o, client: client, out: out}
			if err := f.fetch(ctx, s); err != nil {
				errs[i] = fmt.Errorf("secret %s: %w", s.Name, err)
				return
			}
			o.Logger.Info("secret fetched", "secret", s.Name, "kind", s.Kind,
				"service", s.Service)
		})
	}
	wg.Wait()
	return out, joinLine(errs)
}

// joinLine joins the non-nil errors as errors.Join does, so errors.Is and
// errors.As see each of them, but separates their messages with "; "
// rather than line breaks, and turns the line breaks within a message into
// spaces. It returns nil when every error is nil.
func joinLine(errs []error) error {
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &lineError{errs: failed}
}

type lineError struct{ errs []error }

func (e *lineError) Error() string {
	messages := make([]string, len(e.errs))
	for i, err := range e.errs {
		// A cause that spans lines, such as a parser's error, is flattened too.
		messages[i] = strings.Join(strings.Fields(err.Error()), " ")
	}
	return strings.Join(messages, "; ")
}

func (e *lineError) Unwrap() []error { return e.errs }

// planSecrets returns the role's secrets with placeholders replaced and
// mounts prefixed, after checking the namespace binding. A vault-token
// secret is kept only in legacy-token mode.
func planSecrets(role roles.Role, c node.Config) ([]roles.Secret, error) {
	var plan []roles.Secret
	for _, s := range role.Secrets {
		if s.Kind == roles.KindVaultToken && c.Nomad.VaultMode != vaultModeLegacyToken {
			continue
		}
		if s.Kind == roles.KindVaultTLS && c.Vault.TLSDisable {
			continue
		}
		expanded, err := expand(s, c)
		if err != nil {
			return nil, err
		}
		plan = append(plan, expanded)
	}
	return plan, nil
}

func expand(s roles.Secret, c node.Config) (roles.Secret, error) {
	r := strings.NewReplacer("{namespace}", c.Namespace, "{datacenter}", c.Datacenter,
		"{region}", c.Region, "{node_name}", c.NodeName)
	s.Path = r.Replace(s.Path)
	s.Names = replaceAll(r, s.Names)
	s.Policies = replaceAll(r, s.Policies)
	if s.Path != "" && !inNamespace(s.Path, c.Namespace) {
		return s, fmt.Errorf("secret %s: path %q: %w %q", s.Name, s.Path, ErrNamespace, c.Namespace)
	}
	for _, p := range s.Policies {
		if !inNamespace(p, c.Namespace) {
			return s, fmt.Errorf("secret %s: policy %q: %w %q", s.Name, p, ErrNamespace, c.Namespace)
		}
	}
	mounts := map[string]string{roles.KindKV: c.Secrets.KVMount + "/data",
		roles.KindConsulACL: c.Secrets.ConsulMount + "/creds",
		roles.KindPKI:       c.Secrets.PKIMount + "/issue"}
	if m, ok := mounts[s.Kind]; ok {
		s.Path = m + "/" + s.Path
	}
	return s, nil
}

func replaceAll(r *strings.Replacer, in []string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = r.Replace(v)
	}
	return out
}

// inNamespace reports whether the first segment of p is the namespace or
// starts with "<namespace>-", and p has no "." or ".." segment.
func inNamespace(p, namespace string) bool {
	if path.Clean("/"+p) != "/"+p || strings.Contains(p, "//") {
		return false
	}
	first, _, _ := strings.Cut(p, "/")
	return first == namespace || strings.HasPrefix(first, namespace+"-")
}
