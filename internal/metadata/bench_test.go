package metadata_test

import (
	"testing"
	"time"

	"github.com/hashistack/bootstrap/internal/standin/imds"
)

// BenchmarkFetch measures one Fetch against the stand-in with 5 ms added to
// every response and ten tags. The critical path is five responses: token,
// identity document, tag list, then the ten tag values eight at a time.
func BenchmarkFetch(b *testing.B) {
	srv := imds.New(b, imds.Config{
		Identity:             testIdentity,
		Tags:                 manyTags(10),
		UserData:             []byte("role = \"nomad-client\"\n"),
		TargetLifecycleState: "InService",
		Latency:              5 * time.Millisecond,
	})
	for b.Loop() {
		// A new fetcher per iteration, so every fetch pays for its token as
		// the agent does at boot.
		f, _ := newFetcher(b, srv.URL, "")
		if _, err := f.Fetch(b.Context()); err != nil {
			b.Fatalf("Fetch: %v", err)
		}
	}
}
