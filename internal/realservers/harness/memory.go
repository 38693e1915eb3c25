package harness

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Peak is the peak resident memory of the real servers running now.
type Peak struct {
	// Processes is the number of server processes found.
	Processes int
	// KiB is the sum of their peak resident set sizes (VmHWM).
	KiB int
}

// PeakRSS sums VmHWM over every running process whose executable is one
// of binaries. Each process's own peak is summed, so the result bounds the
// stack's peak from above when the servers peaked at different times.
func PeakRSS(binaries map[string]string) Peak {
	var exes []string
	for _, b := range binaries {
		exes = append(exes, b)
	}
	var p Peak
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		exe, err := os.Readlink(filepath.Join(dir, "exe"))
		if err != nil || !slices.Contains(exes, exe) {
			continue
		}
		if kib, ok := vmHWM(filepath.Join(dir, "status")); ok {
			p.Processes++
			p.KiB += kib
		}
	}
	return p
}

func vmHWM(path string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib, err == nil
		}
	}
	return 0, false
}
