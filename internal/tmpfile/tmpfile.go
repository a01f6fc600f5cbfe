// Package tmpfile makes the temporary files commands write before renaming
// them into place (exports, figures, HTML reports), named after the
// process that writes them, so that the next command writing into the same
// directory removes those a killed process left behind.
package tmpfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Create makes a new file dir/.BASE.PID.RANDOM.tmp for writing (mode
// 0600, as os.CreateTemp).
func Create(dir, base string) (*os.File, error) {
	return os.CreateTemp(dir, "."+base+"."+strconv.Itoa(os.Getpid())+".*.tmp")
}

// Clean removes the files dir/.BASE.PID.*.tmp whose process PID no longer
// runs, and returns their names. Files of live processes (a command
// writing into the same directory now) are left alone.
func Clean(dir, base string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "."+escape(base)+".*.*.tmp"))
	var out []string
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), "."+base+".")
		pidText, _, ok := strings.Cut(rest, ".")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || alive(pid) {
			continue
		}
		if os.Remove(m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// escape quotes the glob metacharacters of a file name.
func escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}
