package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFullBounds(t *testing.T) {
	const base, limit = 10 * time.Millisecond, 600 * time.Millisecond
	for attempt := 1; attempt <= 70; attempt++ {
		bound := limit
		if attempt < 7 {
			bound = base << (attempt - 1)
		}
		for range 100 {
			if d := Full(attempt, base, limit); d <= 0 || d > bound {
				t.Fatalf("Full(%d) = %v, want in (0, %v]", attempt, d, bound)
			}
		}
	}
}

func TestSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep after cancel = %v, want context.Canceled", err)
	}
	if err := Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms) = %v, want nil", err)
	}
}
