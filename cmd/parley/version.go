package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func init() {
	register(command{
		name:  "version",
		usage: "version                                  print parley's module version and the Go version it was built with",
		run:   runVersion,
	})
}

// runVersion prints "parley VERSION (GO_VERSION)": the main module's
// version from the build information ("(devel)" for a build from a
// checkout, or when the binary carries none), with the VCS revision when
// the build recorded one.
func runVersion(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("version")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley version", "version takes no arguments")
	}
	fmt.Fprintln(c.stdout, versionLine(debug.ReadBuildInfo()))
	return nil
}

// versionLine formats the version from build information (ok false when
// the binary has none).
func versionLine(bi *debug.BuildInfo, ok bool) string {
	v, goVersion := "(devel)", runtime.Version()
	if ok && bi != nil {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if v == "(devel)" && len(rev) >= 12 {
			v += " " + rev[:12]
			if modified == "true" {
				v += "+dirty"
			}
		}
	}
	return fmt.Sprintf("parley %s (%s)", v, goVersion)
}
