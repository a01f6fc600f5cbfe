package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cleval/cleval/harness"
)

// Every numeric flag is a numFlag or a listFlag: its value is parsed and
// checked against its documented range while the command line is parsed,
// before anything is read or created, and its help text shows the range
// and the real default.

// numValue is the value of a numeric flag.
type numValue struct {
	r    harness.Range
	f    float64
	i    int64
	text string // as the user wrote it
}

func (n *numValue) Set(s string) error {
	s = strings.TrimSpace(s)
	n.text = s
	if n.r.Integer {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !n.r.Contains(float64(v)) {
			return fmt.Errorf("must be %s", n.r)
		}
		n.i, n.f = v, float64(v)
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !n.r.Contains(v) {
		return fmt.Errorf("must be %s", n.r)
	}
	n.f = v
	return nil
}

func (n *numValue) String() string { return n.text }

// listValue is the value of a flag holding a comma-separated list of
// numbers, each in a range.
type listValue struct {
	r      harness.Range
	maxLen int
	ints   []int
	floats []float64
	text   string
}

func (l *listValue) Set(s string) error {
	l.text = s
	l.ints, l.floats = nil, nil
	parts := strings.Split(s, ",")
	if len(parts) > l.maxLen {
		return fmt.Errorf("%d values, at most %d are allowed", len(parts), l.maxLen)
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		v := &numValue{r: l.r}
		if p == "" || v.Set(p) != nil {
			return fmt.Errorf("%q: each value must be %s", p, l.r)
		}
		l.ints = append(l.ints, int(v.i))
		l.floats = append(l.floats, v.f)
	}
	return nil
}

func (l *listValue) String() string { return l.text }

// numFlag returns a numeric flag with the range r; def is the default it
// shows ("" for none).
func numFlag(name, usage string, r harness.Range, def string, aliases ...string) *cli.GenericFlag {
	return &cli.GenericFlag{Name: name, Aliases: aliases, Usage: usage + ": " + r.String(), Value: &numValue{r: r}, DefaultText: def}
}

// listFlag returns a flag holding a list of at most maxLen numbers in r.
func listFlag(name, usage string, r harness.Range, maxLen int, def string) *cli.GenericFlag {
	return &cli.GenericFlag{Name: name, Usage: fmt.Sprintf("%s: up to %d values, each %s", usage, maxLen, r), Value: &listValue{r: r, maxLen: maxLen}, DefaultText: def}
}

// fieldFlag returns the flag of the numeric configuration field at path,
// with its range and the default of the default preset.
func fieldFlag(name, usage, path string) *cli.GenericFlag {
	r, ok := harness.FieldRange(path)
	if !ok {
		panic("cleval: no range for configuration field " + path)
	}
	return numFlag(name, usage, r, presetDefault(path, r))
}

// intOf, floatOf and listOf return the values of numeric flags.
func intOf(c *cli.Context, name string) int64     { return c.Generic(name).(*numValue).i }
func floatOf(c *cli.Context, name string) float64 { return c.Generic(name).(*numValue).f }
func listOf(c *cli.Context, name string) *listValue {
	return c.Generic(name).(*listValue)
}

// intOr returns the value of an integer flag, or def when it is not set.
func intOr(c *cli.Context, name string, def int64) int64 {
	if c.IsSet(name) {
		return intOf(c, name)
	}
	return def
}

// Ranges of the flags that are not configuration fields.
var (
	threadsRange   = harness.Range{Min: 1, Max: maxThreads, Integer: true, Zero: "the default"}
	workersRange   = harness.Range{Min: 1, Max: maxThreads, Integer: true}
	runIDRange     = harness.Range{Min: 1, Max: math.MaxInt64, Integer: true}
	batchRowsRange = harness.Range{Min: 1, Max: 1 << 20, Integer: true}
	zoomRange      = harness.Range{Min: 1, Max: harness.MaxUpdates, Integer: true}
	inchesRange    = harness.Range{Min: 0, Max: 50, MinOpen: true, Zero: "the figure's default"}
	dpiRange       = harness.Range{Min: 10, Max: 1200, Integer: true}
	fontRange      = harness.Range{Min: 1, Max: 100}
	resamplesRange = harness.Range{Min: 1, Max: 10_000_000, Integer: true}
	seedRange      = harness.Range{Min: 0, Max: math.MaxInt64, Integer: true}
	expBaseRange   = harness.Range{Min: 0, Max: 1, Integer: true}
)

// maxThreads bounds --threads and --workers.
const maxThreads = 1024

// maxIDs bounds the run ids a --run expression may list.
const maxIDs = 100000

// parseIDs parses run ids and ranges, e.g. "1,2,5-9" (ids from 1), with
// at most maxIDs ids; a range is checked before it is walked and the walk
// cannot overflow.
func parseIDs(s string) ([]int64, error) {
	var out []int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("%q: empty item (want ids like 1,2,5-9)", s)
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		b, err2 := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
		switch {
		case err1 != nil || err2 != nil || a < 1 || b < 1:
			return nil, fmt.Errorf("%q: run ids are integers from 1 to %d (ranges like 5-9)", part, int64(math.MaxInt64))
		case b < a:
			return nil, fmt.Errorf("range %q: the end is below the start", part)
		case b-a >= maxIDs || len(out)+int(b-a)+1 > maxIDs:
			return nil, fmt.Errorf("%q: more than %d run ids in all", part, maxIDs)
		}
		for v := a; ; v++ {
			out = append(out, v)
			if v == b {
				break
			}
		}
	}
	return out, nil
}

// invalidFlagValue matches urfave/cli's message for a flag value that
// does not parse.
var invalidFlagValue = regexp.MustCompile(`^invalid value "(.*)" for flag -+([A-Za-z0-9-]+): (.*)$`)

// flagError rewrites urfave/cli's "invalid value "x" for flag -name: ..."
// as "--name x: ...".
func flagError(err error) error {
	if m := invalidFlagValue.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("--%s %s: %s", m[2], m[1], m[3])
	}
	return err
}
