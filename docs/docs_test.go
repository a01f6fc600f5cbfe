package docs

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/cleval/cleval/harness"
	"github.com/cleval/cleval/internal/archtest"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/all"
)

var update = flag.Bool("update", false, "rewrite the generated sections of the documents")

// section is a generated part of a document.
type section struct {
	file, name string
	render     func() (string, error)
}

var sections = []section{
	{"configs.md", "strategies", renderStrategies},
	{"configs.md", "presets", renderPresets},
	{"configs.md", "default-preset", renderDefaultPreset},
	{"architecture.md", "layers", renderLayers},
	{"architecture.md", "rules", renderRules},
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}

func renderStrategies() (string, error) {
	var b strings.Builder
	for _, s := range strategies.List() {
		fmt.Fprintf(&b, "#### `%s`\n\n%s.\n\n", s.Name, sentence(s.Summary))
		if len(s.Params) == 0 {
			b.WriteString("No parameters.\n\n")
			continue
		}
		b.WriteString("| parameter | default | meaning |\n|---|---|---|\n")
		for _, p := range s.Params {
			def := p.Default
			if def == "" {
				def = `""`
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", p.Name, cell(def), cell(p.Doc))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// sentence returns s with its first letter upper-case and no final period.
func sentence(s string) string {
	s = strings.TrimSuffix(s, ".")
	for i, r := range s {
		return s[:i] + string(unicode.ToUpper(r)) + s[i+len(string(r)):]
	}
	return s
}

// seedList prints seeds with runs of consecutive values as ranges: 0-4, 7.
func seedList(seeds []uint64) string {
	var parts []string
	for i := 0; i < len(seeds); {
		j := i
		for j+1 < len(seeds) && seeds[j+1] == seeds[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", seeds[i], seeds[j]))
		} else {
			parts = append(parts, fmt.Sprint(seeds[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func renderPresets() (string, error) {
	var b strings.Builder
	b.WriteString("| preset | seeds | what it is |\n|---|---|---|\n")
	for _, p := range harness.Presets() {
		name := "`" + p.Name + "`"
		if p.Name == harness.DefaultPreset {
			name += " (default)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, seedList(p.Seeds), cell(p.Summary))
	}
	return b.String(), nil
}

func renderDefaultPreset() (string, error) {
	p, err := harness.LookupPreset(harness.DefaultPreset)
	if err != nil {
		return "", err
	}
	cfg := p.Config
	if _, err := cfg.Resolve(); err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, cfg.JSON(), "", "  "); err != nil {
		return "", err
	}
	return "```json\n" + out.String() + "\n```\n", nil
}

func renderLayers() (string, error) {
	var b strings.Builder
	b.WriteString("| layer | group | packages | role |\n|---|---|---|---|\n")
	for _, g := range archtest.Groups {
		pats := make([]string, len(g.Patterns))
		for i, p := range g.Patterns {
			pats[i] = "`" + p + "`"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", g.Layer, g.Name, strings.Join(pats, ", "), cell(g.Role))
	}
	return b.String(), nil
}

func renderRules() (string, error) {
	var b strings.Builder
	for i, r := range archtest.Rules {
		from := "outside " + strings.Join(r.Except, " and ")
		if len(r.From) > 0 {
			from = "of " + strings.Join(r.From, ", ")
		}
		what := slices.Clone(r.Groups)
		for _, p := range r.Paths {
			what = append(what, "`"+p+"`")
		}
		how := "imports"
		if r.Transitive {
			how = "depends, directly or not, on"
		}
		fmt.Fprintf(&b, "%d. No package %s %s %s: %s.\n", i+1, from, how, strings.Join(what, " or "), r.Why)
	}
	return b.String(), nil
}

// splice returns doc with the body of section name replaced by body, and
// the body it had.
func splice(doc, name, body string) (string, string, error) {
	begin := "<!-- generated:" + name
	end := "<!-- end:" + name + " -->"
	i := strings.Index(doc, begin)
	if i < 0 {
		return "", "", fmt.Errorf("no %q marker", begin+" ... -->")
	}
	nl := strings.Index(doc[i:], "\n")
	if nl < 0 {
		return "", "", fmt.Errorf("marker %q ends the file", begin)
	}
	start := i + nl + 1
	j := strings.Index(doc[start:], end)
	if j < 0 {
		return "", "", fmt.Errorf("no %q marker after %q", end, begin)
	}
	return doc[:start] + body + doc[start+j:], doc[start : start+j], nil
}

// TestGeneratedSections checks that the generated parts of the documents
// are what the code gives today; -update rewrites them.
func TestGeneratedSections(t *testing.T) {
	files := map[string]string{}
	for _, s := range sections {
		if _, ok := files[s.file]; !ok {
			b, err := os.ReadFile(s.file)
			if err != nil {
				t.Fatal(err)
			}
			files[s.file] = string(b)
		}
		body, err := s.render()
		if err != nil {
			t.Fatalf("%s: %s: %v", s.file, s.name, err)
		}
		doc, old, err := splice(files[s.file], s.name, body)
		if err != nil {
			t.Fatalf("%s: %v", s.file, err)
		}
		if old != body && !*update {
			t.Errorf("%s: section %s is stale: regenerate it with go test ./docs -update\n--- in the document\n%s\n--- from the code\n%s", s.file, s.name, old, body)
		}
		files[s.file] = doc
	}
	if *update {
		for f, doc := range files {
			if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// region returns the table rows (lines starting with "| `") between the
// markers <!-- NAME:begin ... --> and <!-- NAME:end -->, split into cells.
// A document may hold several such regions.
func region(t *testing.T, file, name string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	begin, end := "<!-- "+name+":begin", "<!-- "+name+":end -->"
	var rows [][]string
	found := false
	for {
		i := strings.Index(doc, begin)
		if i < 0 {
			break
		}
		j := strings.Index(doc[i:], end)
		if j < 0 {
			t.Fatalf("%s: region %s opened but not closed (%s)", file, name, end)
		}
		found = true
		for _, line := range strings.Split(doc[i:i+j], "\n") {
			if strings.HasPrefix(line, "| `") {
				rows = append(rows, cells(line))
			}
		}
		doc = doc[i+j:]
	}
	if !found {
		t.Fatalf("%s: no region %s (%s ... --> and %s)", file, name, begin, end)
	}
	return rows
}

// cells splits a table row at the pipes that are not escaped.
func cells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(strings.TrimSuffix(line, "|"), "|")
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// configKeys returns the dotted JSON keys of harness.Config with the name
// of their type as configs.md writes it.
func configKeys(t *testing.T) map[string]string {
	out := map[string]string{}
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			ft := f.Type
			if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				walk(ft, prefix) // embedded: its fields are the struct's own
				continue
			}
			if name == "" {
				name = f.Name
			}
			key := prefix + name
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft == reflect.TypeFor[json.RawMessage]():
				out[key] = "object"
			case ft.Kind() == reflect.Struct:
				out[key] = "object"
				walk(ft, key+".")
			case ft.Kind() == reflect.Slice:
				out[key] = "list of " + plural(t, key, ft.Elem())
			default:
				out[key] = scalar(t, key, ft)
			}
		}
	}
	walk(reflect.TypeFor[harness.Config](), "")
	return out
}

func scalar(t *testing.T, key string, typ reflect.Type) string {
	switch typ.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	t.Fatalf("configuration key %s: no documented name for type %s: extend configKeys", key, typ)
	return ""
}

func plural(t *testing.T, key string, typ reflect.Type) string {
	switch s := scalar(t, key, typ); s {
	case "bool":
		return "bools"
	default:
		return s + "s"
	}
}

// TestConfigKeysDocumented checks that configs.md documents every key of
// harness.Config with its type, and no key that does not exist.
func TestConfigKeysDocumented(t *testing.T) {
	keys := configKeys(t)
	rows := region(t, "configs.md", "keys")
	documented := map[string]bool{}
	for _, r := range rows {
		key := strings.Trim(r[0], "`")
		if documented[key] {
			t.Errorf("configs.md: key %s documented twice", key)
		}
		documented[key] = true
		typ, ok := keys[key]
		if !ok {
			t.Errorf("configs.md documents key %s, which harness.Config does not have", key)
			continue
		}
		if len(r) < 2 || r[1] != typ {
			t.Errorf("configs.md: key %s: type %q, want %q", key, r[1], typ)
		}
	}
	var missing []string
	for k := range keys {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, k := range missing {
		t.Errorf("configs.md does not document key %s (%s): add a row to the key tables", k, keys[k])
	}
}

// TestMetricNamesDocumented checks that metrics.md lists exactly the
// names metrics.Compute produces.
func TestMetricNamesDocumented(t *testing.T) {
	var got []string
	for _, r := range region(t, "metrics.md", "names") {
		got = append(got, strings.Trim(r[0], "`"))
	}
	if want := metrics.Names(); !slices.Equal(got, want) {
		t.Errorf("metrics.md names table lists\n  %v\nmetrics.Names() is\n  %v", got, want)
	}
}

var (
	mdLink  = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile("(?m)^#{1,6} +(.+?) *$")
)

// slug returns the anchor GitHub gives a heading.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the heading anchors of a Markdown file.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	count := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(doc, -1) {
		s := slug(m[1])
		if n := count[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		count[s]++
	}
	return out
}

// TestLinks checks that the relative links of the documents and the
// README point to files that exist, and their anchors to headings.
func TestLinks(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: link %s: %v", f, target, err)
					continue
				}
			}
			if frag == "" || !strings.HasSuffix(file, ".md") {
				continue
			}
			tb, err := os.ReadFile(file)
			if err != nil {
				t.Errorf("%s: link %s: %v", f, target, err)
				continue
			}
			if !anchors(string(tb))[frag] {
				t.Errorf("%s: link %s: no heading with anchor #%s in %s", f, target, frag, file)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	for h, want := range map[string]string{
		"1. Notation":         "1-notation",
		"min-ACC (`min_acc`)": "min-acc-min_acc",
		"Average anytime accuracy (`aaa`, `aaa_iter`)": "average-anytime-accuracy-aaa-aaa_iter",
		"Sweeps: `cleval sweep`, from a laptop":        "sweeps-cleval-sweep-from-a-laptop",
	} {
		if got := slug(h); got != want {
			t.Errorf("slug(%q) = %q, want %q", h, got, want)
		}
	}
}

// outside are the patterns of references to files outside the repository
// and to issue numbers. They are assembled so that this file does not
// match them itself.
var outside = []*regexp.Regexp{
	regexp.MustCompile(regexp.QuoteMeta("shared" + "/design")),
	regexp.MustCompile(regexp.QuoteMeta("shared" + "/bench")),
	regexp.MustCompile(regexp.QuoteMeta("../" + "shared")),
	regexp.MustCompile(`\b(` + "METRICS|CONFIGS|ARCHITECTURE|CONVENTIONS" + `)\.md\b`),
	regexp.MustCompile(`(?i)\bissues?\s*#?[0-9]+`),
	regexp.MustCompile(`(?i)\b(pr|pull request)\s*#[0-9]+`),
}

// TestStandsAlone checks that no file of the repository refers to a file
// outside it (the design notes it started from) or to an issue number: the
// repository is read on its own, and its documents are in docs/.
func TestStandsAlone(t *testing.T) {
	root := ".."
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") && n != ".ci" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		scanned++
		for i, line := range strings.Split(string(b), "\n") {
			for _, re := range outside {
				if m := re.FindString(line); m != "" {
					t.Errorf("%s:%d: refers to %q, outside the repository: point to docs/ (or say it in place) instead", path, i+1, m)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 100 {
		t.Errorf("scanned only %d files from %s: is the test running in docs/?", scanned, root)
	}
}

func TestOutsidePatterns(t *testing.T) {
	for _, s := range []string{
		"see ../" + "shared/" + "design/" + "METRICS" + ".md",
		"the definitions of " + "METRICS" + ".md",
		"Presets of issue " + "5",
		"(issue #" + "12)",
		"fixed in PR #" + "3",
	} {
		hit := false
		for _, re := range outside {
			hit = hit || re.MatchString(s)
		}
		if !hit {
			t.Errorf("%q is not caught", s)
		}
	}
	for _, s := range []string{"no issue here", "metrics.md", "docs/metrics.md", "color: #222", "an issue with 2 runs"} {
		for _, re := range outside {
			if re.MatchString(s) {
				t.Errorf("%q is caught by %v", s, re)
			}
		}
	}
}
