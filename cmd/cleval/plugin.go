package main

import (
	"fmt"
	"os"
	"plugin"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/strategies"
)

// pluginFlag is the --plugin flag of the commands that build strategies:
// it loads the plugins when the command starts, before the configuration
// is resolved, so that their strategies can be named by --strategy.
func pluginFlag() cli.Flag {
	return &cli.StringSliceFlag{
		Name:  "plugin",
		Usage: "Go plugin `FILE.so` registering strategies (go build -buildmode=plugin, same toolchain and module versions as cleval; repeatable)",
		Action: func(_ *cli.Context, paths []string) error {
			return loadPlugins(paths)
		},
	}
}

// loadPlugins opens every plugin in order; the first failure is a usage
// error (exit status 2).
func loadPlugins(paths []string) error {
	for _, p := range paths {
		if err := loadPlugin(p); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// loadPlugin opens the Go plugin at path, which registers its strategies
// in its init functions, and checks that it was built against this
// cleval's strategy API: the plugin must export
//
//	var APIVersion = strategies.APIVersion
//
// from its package main.
func loadPlugin(path string) (err error) {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--plugin %s: %v", path, err)
	}
	defer func() {
		// A plugin's init function that panics (a strategy name
		// registered twice, say) is reported, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("--plugin %s: the plugin's initialisation failed: %v", path, r)
		}
	}()
	p, err := plugin.Open(path)
	if err != nil {
		return fmt.Errorf("--plugin %s: %v (a plugin must be built with `go build -buildmode=plugin` by the same Go toolchain, with the same build flags and the same versions of every package as this cleval)", path, err)
	}
	sym, err := p.Lookup("APIVersion")
	if err != nil {
		return fmt.Errorf("--plugin %s: the plugin exports no symbol APIVersion: declare `var APIVersion = strategies.APIVersion` in its package main", path)
	}
	v, ok := sym.(*string)
	if !ok {
		return fmt.Errorf("--plugin %s: APIVersion is a %T, want a string variable: `var APIVersion = strategies.APIVersion`", path, sym)
	}
	if *v != strategies.APIVersion {
		return fmt.Errorf("--plugin %s: built against strategy API %q, this cleval has %q: rebuild the plugin against this version of cleval", path, *v, strategies.APIVersion)
	}
	return nil
}
