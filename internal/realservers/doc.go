// Package realservers finds the real Consul, Vault and Nomad binaries that the
// integration tests run. It only locates files that build.sh (`make
// real-servers`) left behind: it never builds, downloads or starts anything.
//
// # Versions
//
// Consul v1.14.11, Vault v1.13.2 and Nomad v1.6.2 are MPL-2.0 releases: the
// LICENSE in each module zip is the Mozilla Public License 2.0, and build.sh
// checks this again before every build. Later patch releases of some of these
// lines are BUSL-licensed and must not be used. They are also the newest
// MPL-2.0 releases that build unmodified from the project's Go module proxy.
// Consul v1.16.0 needs nested modules (envoyextensions, troubleshoot) that the
// proxy does not serve, and Vault v1.13.3 and later need sdk changes newer
// than the served sdk tags.
//
// # Wrapper modules
//
// `go install MODULE@VERSION` rejects a module whose go.mod has replace lines,
// and all three servers have them. So each server has a wrapper module in the
// directory of its name (consul/, vault/, nomad/). Each one requires the server
// and its nested modules at the published tags that the server's go.mod
// names, and copies the server's non-local replace lines. None of the three
// has exclude lines. Nomad's api module is required at the pseudo-version of
// the v1.6.2 tag commit, because Nomad's go.mod points it at ./api. The only Go
// file of each wrapper, tools.go, imports the server's main package under the
// never-set tools build tag. The committed go.sum pins every module, and a
// build with -trimpath -buildvcs=false gives the same bytes each time. Nomad
// is built with cgo, the other two without. Being separate modules, the
// wrappers are ignored by the main module's ./... patterns.
//
// # Where the binaries go
//
// build.sh writes [Dir]/NAME-VERSION/NAME and a NAME.sha256 beside it, and
// skips a binary whose checksum still matches. After each build, and for a
// binary it skips, it runs `NAME version` and checks the version line. For
// Consul it also checks that `consul validate` accepts a minimal loopback
// config and rejects an unknown key.
//
// # Cost
//
// Measured on a Debian 12 VM with 2 cores and 23 GiB of memory, shared with
// other jobs (load average up to 13 during the cold build), with Go 1.26.8:
//
//   - Module downloads (build.sh's `go mod download` into an empty module
//     cache): 156 s for the three, 932 MiB of zips and 5.9 GiB in the module
//     cache.
//   - Cold build (modules present, build cache without these packages), in
//     build.sh's order: Consul 191 s, Vault 423 s, Nomad 117 s, 12 min 11 s in
//     all. Nomad is fast because it reuses packages compiled for the first two.
//   - Warm run with the binaries present: 3.6 s (checksums and smoke checks).
//   - Warm rebuild into an empty directory with the build cache filled: Consul
//     7 s, Vault 11 s, Nomad 7 s, 26 s in all, byte for byte identical to the
//     cold build.
//   - Binaries: Consul 152 MiB, Vault 231 MiB, Nomad 94 MiB (477 MiB). The
//     shared build cache grew by about 5 GiB during the cold build, part of it
//     from other jobs on the machine.
package realservers
