package main

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"plugin"
	"runtime"
	"runtime/debug"

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
	// plugin.Open of a file that is not a complete Go plugin crashes the
	// process (SIGBUS on a truncated file, a fatal error on a C library):
	// check the file first.
	if err := checkPluginFile(path); err != nil {
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

// checkPluginFile checks that path is a complete ELF shared object for
// this machine, built by go build -buildmode=plugin with this cleval's Go
// version and the same versions of the modules both use.
func checkPluginFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := uint64(fi.Size())
	ef, err := elf.NewFile(f)
	if err != nil {
		magic := make([]byte, 4)
		if n, _ := f.ReadAt(magic, 0); n == 4 && string(magic) == elf.ELFMAG && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			return fmt.Errorf("truncated: an ELF file that ends at byte %d before its headers do (copy or build it again)", size)
		}
		return fmt.Errorf("not an ELF shared object (%v): build the plugin with go build -buildmode=plugin", err)
	}
	defer ef.Close()
	if want := elfMachine[runtime.GOARCH]; want != 0 && ef.Machine != want {
		return fmt.Errorf("built for %v, this cleval runs on %s", ef.Machine, runtime.GOARCH)
	}
	if ef.Type != elf.ET_DYN {
		return fmt.Errorf("an ELF file of type %v, not a shared object: build the plugin with go build -buildmode=plugin", ef.Type)
	}
	// A truncated file maps pages past its end (SIGBUS on first touch).
	for _, p := range ef.Progs {
		if p.Off+p.Filesz > size {
			return fmt.Errorf("truncated: a segment ends at byte %d, the file has %d bytes (copy or build it again)", p.Off+p.Filesz, size)
		}
	}
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOBITS && s.Offset+s.FileSize > size {
			return fmt.Errorf("truncated: section %s ends at byte %d, the file has %d bytes (copy or build it again)", s.Name, s.Offset+s.FileSize, size)
		}
	}
	bi, err := buildinfo.Read(f)
	if err != nil {
		return fmt.Errorf("not a Go plugin (no Go build information: %v): build it with go build -buildmode=plugin", err)
	}
	mode := ""
	for _, s := range bi.Settings {
		if s.Key == "-buildmode" {
			mode = s.Value
		}
	}
	if mode != "plugin" {
		return fmt.Errorf("a Go program built with -buildmode=%s, not a plugin: build it with go build -buildmode=plugin", mode)
	}
	if bi.GoVersion != runtime.Version() {
		return fmt.Errorf("built by %s, this cleval by %s: build the plugin with the same Go toolchain", bi.GoVersion, runtime.Version())
	}
	if me, ok := debug.ReadBuildInfo(); ok {
		mine := map[string]string{}
		for _, d := range me.Deps {
			mine[d.Path] = d.Version
		}
		for _, d := range bi.Deps {
			if v, ok := mine[d.Path]; ok && v != d.Version {
				return fmt.Errorf("built with %s %s, this cleval with %s: build the plugin against the same module versions", d.Path, d.Version, v)
			}
		}
	}
	return nil
}

// elfMachine is the ELF machine of each architecture plugins run on.
var elfMachine = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "386": elf.EM_386, "arm": elf.EM_ARM,
	"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV, "loong64": elf.EM_LOONGARCH,
}
