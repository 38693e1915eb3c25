package lifecycle

import "time"

// FastRetries makes m retry after a millisecond, so tests can exercise
// long runs of throttled calls.
func FastRetries(m *Manager) {
	m.delay = func(int) time.Duration { return time.Millisecond }
}
