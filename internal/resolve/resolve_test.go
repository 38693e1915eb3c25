package resolve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

func addrs(t *testing.T, ss ...string) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestServerLookup(t *testing.T) {
	server, _ := startDNS(t)
	var big []string
	for i := 1; i <= 60; i++ {
		big = append(big, fmt.Sprintf("10.1.0.%d", i))
	}
	tests := []struct {
		name string
		want []netip.Addr
	}{
		{name: "ok.test", want: addrs(t, "10.0.0.1", "fd00::1")},
		{name: "ok.test.", want: addrs(t, "10.0.0.1", "fd00::1")},
		{name: "v4only.test", want: addrs(t, "10.0.0.2")},
		{name: "cname.test", want: addrs(t, "10.0.0.1")},
		{name: "big.test", want: addrs(t, big...)},
		{name: "aaaa-servfail.test", want: addrs(t, "10.0.0.3")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Server(server).Lookup(t.Context(), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("Lookup(%s) (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

type lookupErrorCase struct {
	name    string
	query   string
	server  string
	timeout time.Duration
	kind    error
	want    []string
}

func TestServerLookupErrors(t *testing.T) {
	server, _ := startDNS(t)
	dead, silent := deadServer(t), silentServer(t)
	tests := []lookupErrorCase{
		{
			name: "nxdomain", query: "nx.test", server: server, kind: ErrNotFound,
			want: []string{"nx.test does not exist (NXDOMAIN from " + server + ")", "create the DNS record"},
		},
		{
			name: "no_records", query: "empty.test", server: server, kind: ErrNoAddress,
			want: []string{"empty.test resolves to nothing (" + server + " answered without an A or AAAA record)", "add an A or AAAA record"},
		},
		{
			name: "servfail", query: "servfail.test", server: server, kind: ErrServerFailure,
			want: []string{"servfail.test: " + server + " answered SERVFAIL", "upstream"},
		},
		{
			name: "refused", query: "refused.test", server: server, kind: ErrRefused,
			want: []string{"refused.test: " + server + " answered REFUSED", "set dns.server"},
		},
		{
			name: "other_rcode", query: "notimp.test", server: server, kind: nil,
			want: []string{"notimp.test: lookup at " + server, "answered NOTIMP"},
		},
		{
			name: "server_down", query: "ok.test", server: dead, kind: ErrUnreachable,
			want: []string{"ok.test: DNS server " + dead + " is unreachable", "check dns.server", "connection refused"},
		},
		{
			name: "server_silent", query: "ok.test", server: silent, timeout: 50 * time.Millisecond, kind: ErrTimeout,
			want: []string{"ok.test: DNS server " + silent + " did not answer in time", "port 53"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &serverResolver{addr: tc.server, timeout: queryTimeout}
			if tc.timeout != 0 {
				r.timeout = tc.timeout
			}

			got, err := r.Lookup(t.Context(), tc.query)

			var lerr *LookupError
			if !errors.As(err, &lerr) {
				t.Fatalf("Lookup = %v, %v, want a *LookupError", got, err)
			}
			if lerr.Kind != tc.kind {
				t.Errorf("Kind = %v, want %v", lerr.Kind, tc.kind)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWaitResolvesEveryName(t *testing.T) {
	server, _ := startDNS(t)

	got, err := Wait(t.Context(), Server(server), []string{"ok.test", "v4only.test", "10.9.9.9", "ok.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string][]netip.Addr{
		"ok.test":     addrs(t, "10.0.0.1", "fd00::1"),
		"v4only.test": addrs(t, "10.0.0.2"),
		"10.9.9.9":    addrs(t, "10.9.9.9"),
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Wait (-want +got):\n%s", diff)
	}
}

func TestWaitNameAppearsAfterPolls(t *testing.T) {
	server, zone := startDNS(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	got, err := Wait(t.Context(), Server(server), []string{"late.test"}, log)
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(addrs(t, "10.0.0.4"), got["late.test"], cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("late.test addresses (-want +got):\n%s", diff)
	}
	if n := zone.queriesFor("late.test.", dns.TypeA); n != 4 {
		t.Errorf("A queries for late.test = %d, want 4 (three NXDOMAIN, then the record)", n)
	}
	want := []logLine{
		{Msg: "dns name not resolved yet, retrying", Name: "late.test", Attempt: 1,
			Error: (&LookupError{Name: "late.test", Server: server, Kind: ErrNotFound}).Error()},
		{Msg: "dns name resolved", Name: "late.test"},
	}
	if diff := cmp.Diff(want, parseLogs(t, &logs)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

func TestWaitReportsEachNameAsItself(t *testing.T) {
	server, _ := startDNS(t)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	names := []string{"servfail.test", "ok.test", "nx.test", "empty.test", "refused.test"}

	got, err := Wait(ctx, Server(server), names, nil)

	var werr *WaitError
	if !errors.As(err, &werr) {
		t.Fatalf("Wait error = %v, want *WaitError", err)
	}
	if _, ok := got["ok.test"]; !ok || len(got) != 1 {
		t.Errorf("resolved = %v, want ok.test only", got)
	}
	wantKinds := []error{ErrServerFailure, ErrNotFound, ErrNoAddress, ErrRefused}
	if len(werr.Errs) != len(wantKinds) {
		t.Fatalf("WaitError has %d errors, want %d: %v", len(werr.Errs), len(wantKinds), err)
	}
	for i, kind := range wantKinds {
		if !errors.Is(werr.Errs[i], kind) {
			t.Errorf("error %d = %v, want %v", i, werr.Errs[i], kind)
		}
	}
	for _, w := range []string{"4 names did not resolve", "nx.test does not exist (NXDOMAIN from " + server + ")",
		"empty.test resolves to nothing", "servfail.test: " + server + " answered SERVFAIL", "refused.test: " + server + " answered REFUSED"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(err, context.DeadlineExceeded) = false")
	}
}

func TestWaitServerDown(t *testing.T) {
	dead := deadServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	_, err := Wait(ctx, Server(dead), []string{"consul.test"}, nil)

	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("Wait error = %v, want ErrUnreachable", err)
	}
	want := "1 name did not resolve before the wait ended: consul.test: DNS server " + dead + " is unreachable"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// blockingResolver answers nothing until the context ends.
type blockingResolver struct{}

func (blockingResolver) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	<-ctx.Done()
	return nil, &LookupError{Name: name, Kind: ErrTimeout, Err: ctx.Err()}
}

func TestWaitCancelledBeforeAnyAnswer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := Wait(ctx, blockingResolver{}, []string{"consul.test"}, nil)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait error = %v, want context.Canceled", err)
	}
	if err == nil || !strings.Contains(err.Error(), "consul.test: no DNS answer from the DNS server before the wait ended") {
		t.Errorf("error %q does not say that no answer came", err)
	}
}

// systemBlockingResolver blocks like the system resolver does when no
// nameserver in /etc/resolv.conf answers, without sending a query.
type systemBlockingResolver struct{}

func (systemBlockingResolver) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	<-ctx.Done()
	return nil, &LookupError{Name: name, Server: systemServer, Kind: ErrTimeout, Err: ctx.Err()}
}

func TestWaitSystemResolverNoAnswer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := Wait(ctx, systemBlockingResolver{}, []string{"consul.test"}, nil)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait error = %v, want context.Canceled", err)
	}
	for _, want := range []string{"no DNS answer from the system resolver (/etc/resolv.conf)",
		"set dns.server"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// scriptedResolver returns the errors of script in turn, then an address.
type scriptedResolver struct {
	mu     sync.Mutex
	script []error
}

func (s *scriptedResolver) Lookup(_ context.Context, name string) ([]netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script) == 0 {
		return []netip.Addr{netip.MustParseAddr("10.0.0.7")}, nil
	}
	err := s.script[0]
	s.script = s.script[1:]
	return nil, err
}

func TestWaitLogsEachCauseOnce(t *testing.T) {
	nx := &LookupError{Name: "consul.test", Kind: ErrNotFound}
	servfail := &LookupError{Name: "consul.test", Kind: ErrServerFailure}
	r := &scriptedResolver{script: []error{nx, nx, servfail, nx, servfail, nil}}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	if _, err := Wait(t.Context(), r, []string{"consul.test"}, log); err != nil {
		t.Fatal(err)
	}

	want := []logLine{
		{Msg: "dns name not resolved yet, retrying", Name: "consul.test", Attempt: 1, Error: nx.Error()},
		{Msg: "dns name not resolved yet, retrying", Name: "consul.test", Attempt: 3, Error: servfail.Error()},
		{Msg: "dns name not resolved yet, retrying", Name: "consul.test", Attempt: 6, Error: (&LookupError{Name: "consul.test", Kind: ErrNoAddress}).Error()},
		{Msg: "dns name resolved", Name: "consul.test"},
	}
	if diff := cmp.Diff(want, parseLogs(t, &logs)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

type logLine struct {
	Msg     string `json:"msg"`
	Name    string `json:"name"`
	Attempt int    `json:"attempt"`
	Error   string `json:"error"`
}

// parseLogs decodes JSON log lines.
func parseLogs(t *testing.T, buf *bytes.Buffer) []logLine {
	t.Helper()
	var lines []logLine
	for _, raw := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if raw == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		lines = append(lines, l)
	}
	return lines
}
