package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// helpFlag matches the flag names of an option line of --help: the
	// part before the usage text (two spaces or more).
	helpFlag = regexp.MustCompile(`(?:^|[\s,\[])(-{1,2}[a-z][a-z0-9-]*)`)
	// docFlag matches a flag name at the start of a code span.
	docFlag = regexp.MustCompile("`(-{1,2}[a-z][a-z0-9-]*)")
)

// helpFlags returns the flags `cleval CMD --help` lists, without --help.
func helpFlags(t *testing.T, cmd string) []string {
	t.Helper()
	stdout, stderr, code := cleval(t, cmd, "--help")
	if code != 0 {
		t.Fatalf("cleval %s --help: exit %d: %s", cmd, code, stderr)
	}
	_, opts, ok := strings.Cut(stdout, "OPTIONS:\n")
	if !ok {
		t.Fatalf("cleval %s --help has no OPTIONS section:\n%s", cmd, stdout)
	}
	var out []string
	for _, line := range strings.Split(opts, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "-") {
			continue
		}
		spec, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		for _, m := range helpFlag.FindAllStringSubmatch(spec, -1) {
			if f := m[1]; f != "--help" && f != "-h" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out
}

// docFlags returns the flags named in the first column of the table in
// region <!-- NAME:begin --> ... <!-- NAME:end --> of docs/configs.md.
func docFlags(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile("../../docs/configs.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "<!-- "+name+":begin")
	j := strings.Index(doc, "<!-- "+name+":end -->")
	if i < 0 || j < i {
		t.Fatalf("docs/configs.md: no region %s", name)
	}
	var out []string
	for _, line := range strings.Split(doc[i:j], "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " | ")
		for _, m := range docFlag.FindAllStringSubmatch(first, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestFlagsDocumented checks that the flag tables of docs/configs.md list
// exactly the flags of cleval run and cleval sweep (aliases included).
func TestFlagsDocumented(t *testing.T) {
	for _, cmd := range []string{"run", "sweep"} {
		t.Run(cmd, func(t *testing.T) {
			help := helpFlags(t, cmd)
			doc := docFlags(t, "flags:"+cmd)
			if len(help) < 5 {
				t.Fatalf("cleval %s --help lists only %v", cmd, help)
			}
			for _, f := range help {
				if !slices.Contains(doc, f) {
					t.Errorf("cleval %s has flag %s, which docs/configs.md does not document", cmd, f)
				}
			}
			for _, f := range doc {
				if !slices.Contains(help, f) {
					t.Errorf("docs/configs.md documents %s for cleval %s, which has no such flag", f, cmd)
				}
			}
		})
	}
}

func TestHelpFlagParsing(t *testing.T) {
	m := func(line string) []string {
		spec, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		var out []string
		for _, x := range helpFlag.FindAllStringSubmatch(spec, -1) {
			out = append(out, x[1])
		}
		return out
	}
	for line, want := range map[string][]string{
		"   --quiet, -q                              no progress bar (default: false)":               {"--quiet", "-q"},
		"   --plugin FILE.so [ --plugin FILE.so ]    Go plugin":                                      {"--plugin", "--plugin"},
		"   --eval-every value                       evaluation period ρ in iterations (default: 0)": {"--eval-every"},
		"   --workers value, -j value                runs in parallel":                               {"--workers", "-j"},
	} {
		if got := m(line); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
}
