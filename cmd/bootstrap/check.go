package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/hashistack/bootstrap/internal/config"
)

// check rejects flag values that are wrong before anything runs, so a
// usage error exits 2 without touching IMDS or the state file.
func (c *common) check(fs *flag.FlagSet) error {
	if c.root != "" && !filepath.IsAbs(c.root) {
		return fmt.Errorf("--root %q is relative: give an absolute path", c.root)
	}
	if c.timeout <= 0 {
		return fmt.Errorf("--timeout %s must be positive, such as 15m", c.timeout)
	}
	names := make([]string, 0, len(config.Keys()))
	for _, k := range config.Keys() {
		names = append(names, k.Name)
	}
	for _, s := range c.settings {
		if !slices.Contains(names, s.Key) {
			return fmt.Errorf("--set %s: unknown configuration key %q: see docs/user-data.md "+
				"for the keys", s.Key, s.Key)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			c.configGiven = true
		}
	})
	return nil
}
