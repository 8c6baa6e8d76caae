package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the Makefile's build target:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc1234"
//
// Without them the module's version and VCS revision from the build info
// are used, when Go recorded them.
var (
	version = ""
	commit  = ""
)

// versionString is what `drafter --version` prints after "drafter ".
func versionString() string {
	v, c := version, commit
	dirty := false
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown"
	} else if dirty && commit == "" {
		c += "-dirty"
	}
	return fmt.Sprintf("%s (commit %s, %s %s/%s)", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
