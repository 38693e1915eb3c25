package units

import "testing"

func TestDescribe(t *testing.T) {
	tests := []struct {
		name  string
		state UnitState
		want  string
	}{
		{"exit_code_with_status", UnitState{ActiveState: "failed", SubState: "failed", Result: "exit-code",
			ExecMainCode: cldExited, ExecMainStatus: 1, StatusText: "config invalid: x"},
			`unit is failed (Result=exit-code, main process exited with status 1, status "config invalid: x")`},
		{"binary_missing", UnitState{ActiveState: "failed", SubState: "failed", Result: "exit-code",
			ExecMainCode: cldExited, ExecMainStatus: 203},
			"unit is failed (Result=exit-code, main process exited with status 203 (EXEC: the program could not be executed))"},
		{"killed", UnitState{ActiveState: "failed", SubState: "failed", Result: "signal",
			ExecMainCode: cldKilled, ExecMainStatus: 9},
			"unit is failed (Result=signal, main process killed by signal 9 (killed))"},
		{"core_dump", UnitState{ActiveState: "failed", SubState: "failed", Result: "core-dump",
			ExecMainCode: cldDumped, ExecMainStatus: 11},
			"unit is failed (Result=core-dump, main process dumped core on signal 11 (segmentation fault))"},
		{"restarting", UnitState{ActiveState: "activating", SubState: "auto-restart", Result: "exit-code"},
			"unit is activating/auto-restart (Result=exit-code)"},
		{"not_a_service", UnitState{ActiveState: "inactive", SubState: "dead"}, "unit is inactive/dead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.state.describe(); got != tc.want {
				t.Errorf("describe() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunning(t *testing.T) {
	tests := []struct {
		active, sub string
		want        bool
	}{
		{"active", "running", true},
		{"active", "exited", true},
		{"reloading", "reload", true},
		{"activating", "start", true},
		{"activating", "auto-restart", false},
		{"failed", "failed", false},
		{"inactive", "dead", false},
		{"deactivating", "stop-sigterm", false},
	}
	for _, tc := range tests {
		t.Run(tc.active+"_"+tc.sub, func(t *testing.T) {
			state := UnitState{ActiveState: tc.active, SubState: tc.sub}
			if got := state.running(); got != tc.want {
				t.Errorf("running() = %v, want %v", got, tc.want)
			}
		})
	}
}
