package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
)

// Error is a problem found in an experiment file: where it is (file, line,
// column, the field's dotted path), which run it concerns, and what is
// wrong. It wraps harness.ErrInvalid, so callers treat it as bad input.
type Error struct {
	File         string
	Line, Column int
	// Field is the dotted path of the field (in the configuration or in
	// the experiment file), "" when the problem is not one field's.
	Field string
	// Run names the run whose configuration is wrong, "" when the problem
	// is in the file's structure.
	Run string
	// Source says where the field's value was given when not in the file
	// (a command-line flag such as "--lr", see Field); the message then
	// starts with it instead of the field.
	Source string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	msg := strings.TrimPrefix(e.Err.Error(), harness.ErrInvalid.Error()+": ")
	if e.Source != "" {
		b.WriteString(e.Source + ": ")
	} else if e.Field != "" && !strings.HasPrefix(msg, e.Field) {
		// "optimizer: learning rate ..." at field optimizer.lr reads
		// "optimizer.lr: learning rate ...".
		if head, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(e.Field, head+".") {
			msg = rest
		}
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(msg)
	if e.Run != "" {
		b.WriteString(" (" + e.Run + ")")
	}
	return b.String()
}

// Unwrap returns harness.ErrInvalid and the underlying error.
func (e *Error) Unwrap() []error { return []error{harness.ErrInvalid, e.Err} }

// Experiment is a parsed experiment file: one or more blocks, each a base
// configuration (a preset, overridden by base), axes to cross or zip, and
// seeds. Expand turns it into runs.
type Experiment struct {
	// File is the name used in error messages.
	File string
	// Name is the file's optional name: field.
	Name string
	// Description is the file's optional description: field.
	Description string

	blocks []*block
}

// block is one experiment of a file.
type block struct {
	node   *yaml.Node
	name   string
	preset *yaml.Node // scalar naming the preset, nil when none
	bases  []*val     // overrides, applied in order
	groups []group    // grid axes (one axis each) and zip groups
	seeds  []uint64
	// seedsNode is where the seeds were given (nil: the preset's seeds).
	seedsNode *yaml.Node
}

// axis is one varied field.
type axis struct {
	key    string // as written, e.g. "optimizer.lr"
	path   []string
	node   *yaml.Node // the key
	values []*val
}

// group is a set of axes that vary together (one grid axis, or a zip
// group of axes of equal length).
type group struct {
	axes []axis
	zip  bool
}

func (g group) size() int { return len(g.axes[0].values) }

type parser struct {
	file string
	// values counts the values converted so far (see maxValues).
	values int
}

func (p *parser) errAt(n *yaml.Node, field, msg string) *Error {
	e := &Error{File: p.file, Field: field, Err: errors.New(msg)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Load reads and parses the experiment file at path.
func Load(path string) (*Experiment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return Parse(path, data)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Keys of an experiment file (top level) and of a block.
var (
	topKeys   = []string{"name", "description", "preset", "base", "seeds", "grid", "zip", "experiments"}
	blockKeys = []string{"name", "preset", "base", "seeds", "grid", "zip"}
)

// Parse parses an experiment file's contents; file names it in errors.
func Parse(file string, data []byte) (*Experiment, error) {
	p := &parser{file: file}
	var doc yaml.Node
	yamlErr := func(err error) error {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &Error{File: file, Line: line, Err: errors.New(m[2])}
		}
		return &Error{File: file, Err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, yamlErr(err)
	}
	// A second document would be ignored: refuse it.
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, yamlErr(err)
		}
		return nil, p.errAt(&next, "", "a second YAML document (after ---): an experiment file holds one; put several experiments in one document, under experiments:")
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, p.errAt(nil, "", "empty experiment file: give at least a preset or a base configuration")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errAt(root, "", "an experiment file is a mapping (preset:, base:, grid:, seeds:, ...)")
	}
	top, err := p.fields(root, "", topKeys)
	if err != nil {
		return nil, err
	}
	exp := &Experiment{File: file}
	if n := top["name"]; n != nil {
		if exp.Name, err = p.str(n, "name"); err != nil {
			return nil, err
		}
	}
	if n := top["description"]; n != nil {
		if exp.Description, err = p.str(n, "description"); err != nil {
			return nil, err
		}
	}
	defaults, err := p.block(root, top, nil, "")
	if err != nil {
		return nil, err
	}
	list := top["experiments"]
	if list == nil {
		exp.blocks = []*block{defaults}
		return exp, nil
	}
	list = deref(list)
	if list.Kind != yaml.SequenceNode {
		return nil, p.errAt(list, "experiments", "must be a list of experiments")
	}
	if len(list.Content) == 0 {
		return nil, p.errAt(list, "experiments", "empty list: the sweep would have no runs")
	}
	for i, n := range list.Content {
		n = deref(n)
		where := fmt.Sprintf("experiments[%d]", i)
		if n.Kind != yaml.MappingNode {
			return nil, p.errAt(n, where, "an experiment is a mapping (preset:, base:, grid:, ...)")
		}
		f, err := p.fields(n, where+".", blockKeys)
		if err != nil {
			return nil, err
		}
		b, err := p.block(n, f, defaults, where+".")
		if err != nil {
			return nil, err
		}
		exp.blocks = append(exp.blocks, b)
	}
	return exp, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields returns the values of a mapping's keys, rejecting unknown and
// repeated keys.
func (p *parser) fields(n *yaml.Node, prefix string, allowed []string) (map[string]*yaml.Node, error) {
	out := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, p.errAt(k, "", "a key must be a plain name")
		}
		if !slices.Contains(allowed, k.Value) {
			hint := ""
			if s := suggest(k.Value, allowed); s != "" {
				hint = fmt.Sprintf("did you mean %q? ", s)
			}
			return nil, p.errAt(k, prefix+k.Value, fmt.Sprintf("unknown key %q (%sallowed here: %s)", k.Value, hint, strings.Join(allowed, ", ")))
		}
		if prev, dup := keys[k.Value]; dup {
			return nil, p.errAt(k, prefix+k.Value, fmt.Sprintf("key given twice (first at line %d)", prev.Line))
		}
		keys[k.Value] = k
		out[k.Value] = v
	}
	return out, nil
}

func (p *parser) str(n *yaml.Node, field string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", p.errAt(n, field, "must be a string")
	}
	return n.Value, nil
}

// block parses the block fields f of mapping n; def holds the file's
// top-level defaults (nil when parsing them).
func (p *parser) block(n *yaml.Node, f map[string]*yaml.Node, def *block, prefix string) (*block, error) {
	b := &block{node: n}
	if def != nil {
		b.preset = def.preset
		b.bases = slices.Clone(def.bases)
		b.groups = slices.Clone(def.groups)
		b.seeds, b.seedsNode = def.seeds, def.seedsNode
	}
	var err error
	if x := f["name"]; x != nil && def != nil {
		if b.name, err = p.str(x, prefix+"name"); err != nil {
			return nil, err
		}
	}
	if x := f["preset"]; x != nil {
		x = deref(x)
		if x.Kind != yaml.ScalarNode || x.ShortTag() != "!!str" {
			return nil, p.errAt(x, prefix+"preset", "must be a preset name (see: cleval presets)")
		}
		if _, err := harness.LookupPreset(x.Value); err != nil {
			return nil, p.errAt(x, prefix+"preset", strings.TrimPrefix(err.Error(), harness.ErrInvalid.Error()+": "))
		}
		b.preset = x
	}
	if x := f["base"]; x != nil {
		x = deref(x)
		if x.Kind != yaml.MappingNode {
			return nil, p.errAt(x, prefix+"base", "must be a mapping of configuration fields (e.g. epochs: 1)")
		}
		v, err := p.fromYAML(x, true)
		if err != nil {
			return nil, err
		}
		if err := p.reserved(v, prefix+"base"); err != nil {
			return nil, err
		}
		b.bases = append(b.bases, v)
	}
	if x := f["seeds"]; x != nil {
		if b.seeds, err = p.seeds(x, prefix+"seeds"); err != nil {
			return nil, err
		}
		b.seedsNode = x
	}
	if x := f["grid"]; x != nil {
		gs, err := p.grid(x, prefix+"grid")
		if err != nil {
			return nil, err
		}
		b.groups = append(b.groups, gs...)
	}
	if x := f["zip"]; x != nil {
		gs, err := p.zip(x, prefix+"zip")
		if err != nil {
			return nil, err
		}
		b.groups = append(b.groups, gs...)
	}
	seen := map[string]axis{}
	for _, g := range b.groups {
		for _, a := range g.axes {
			for k, prev := range seen {
				if k == a.key || strings.HasPrefix(k, a.key+".") || strings.HasPrefix(a.key, k+".") {
					return nil, p.errAt(a.node, prefix+a.key, fmt.Sprintf("axis overlaps the axis %s at line %d", prev.key, prev.node.Line))
				}
			}
			seen[a.key] = a
		}
	}
	return b, nil
}

// reserved rejects fields that the file sets in other ways.
func (p *parser) reserved(v *val, where string) error {
	if x := v.get("seed"); x != nil {
		return p.errAt(x.node, where+".seed", "set seeds with the seeds: key (a list, or ranges like 0-4)")
	}
	if x := v.get("preset"); x != nil {
		return p.errAt(x.node, where+".preset", "name the preset with the preset: key of the experiment (or as a grid axis)")
	}
	return nil
}

var seedRange = regexp.MustCompile(`^\s*(\d+)\s*(?:-\s*(\d+))?\s*$`)

// MaxSeeds is the most seeds a list or range of seeds may hold.
const MaxSeeds = maxRuns

// ParseSeeds parses seeds written as a list of seeds and ranges, e.g.
// "0,1,2", "0-4" or "0-4,7" (seeds are integers from 0 to 2^64-1). A seed
// listed twice and more than MaxSeeds seeds are errors naming the value.
func ParseSeeds(s string) ([]uint64, error) {
	var out []uint64
	seen := map[uint64]bool{}
	err := parseSeeds(s, func(v uint64) error {
		if seen[v] {
			return fmt.Errorf("seed %d listed twice", v)
		}
		if len(out) >= MaxSeeds {
			return fmt.Errorf("more than %d seeds", MaxSeeds)
		}
		seen[v] = true
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", harness.ErrInvalid, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q: no seeds (want seeds like 0,1,2 or ranges like 0-4)", harness.ErrInvalid, s)
	}
	return out, nil
}

// parseSeeds calls add for every seed of a string of seeds and ranges.
// A range's size is checked before it is walked, and the walk cannot
// overflow.
func parseSeeds(s string, add func(uint64) error) error {
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" && strings.Contains(s, ",") {
			return fmt.Errorf("%q: empty item in the list of seeds", s)
		}
		m := seedRange.FindStringSubmatch(part)
		if m == nil {
			return fmt.Errorf("%q: want seeds like 0,1,2 or ranges like 0-4 (integers from 0 to %d)", strings.TrimSpace(part), uint64(math.MaxUint64))
		}
		lo, err1 := strconv.ParseUint(m[1], 10, 64)
		hi := lo
		var err2 error
		if m[2] != "" {
			hi, err2 = strconv.ParseUint(m[2], 10, 64)
		}
		switch {
		case err1 != nil || err2 != nil:
			return fmt.Errorf("%q: seeds are integers from 0 to %d", strings.TrimSpace(part), uint64(math.MaxUint64))
		case hi < lo:
			return fmt.Errorf("seed range %q: the end is below the start", strings.TrimSpace(part))
		case hi-lo >= MaxSeeds:
			return fmt.Errorf("seed range %q holds %d seeds, more than the %d allowed", strings.TrimSpace(part), hi-lo+1, MaxSeeds)
		}
		for v := lo; ; v++ {
			if err := add(v); err != nil {
				return err
			}
			if v == hi {
				break
			}
		}
	}
	return nil
}

// seeds parses a list of seeds, a single seed, or a string of ranges
// ("0-4,7").
func (p *parser) seeds(n *yaml.Node, field string) ([]uint64, error) {
	n = deref(n)
	var out []uint64
	seen := map[uint64]bool{}
	add := func(s uint64, at *yaml.Node) error {
		if seen[s] {
			return p.errAt(at, field, fmt.Sprintf("seed %d listed twice", s))
		}
		if len(out) >= MaxSeeds {
			return p.errAt(at, field, fmt.Sprintf("more than %d seeds", MaxSeeds))
		}
		seen[s] = true
		out = append(out, s)
		return nil
	}
	one := func(x *yaml.Node) error {
		x = deref(x)
		if x.Kind != yaml.ScalarNode {
			return p.errAt(x, field, "a seed is a non-negative integer")
		}
		if x.ShortTag() == "!!int" {
			var s uint64
			if err := x.Decode(&s); err != nil {
				return p.errAt(x, field, fmt.Sprintf("seed %s: must be an integer from 0 to %d", x.Value, uint64(math.MaxUint64)))
			}
			return add(s, x)
		}
		if x.ShortTag() != "!!str" {
			return p.errAt(x, field, fmt.Sprintf("seed %s: must be a non-negative integer or a range like 0-4", x.Value))
		}
		var addErr error
		err := parseSeeds(x.Value, func(s uint64) error {
			addErr = add(s, x)
			return addErr
		})
		if addErr != nil {
			return addErr
		}
		if err != nil {
			return p.errAt(x, field, err.Error())
		}
		return nil
	}
	switch n.Kind {
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, p.errAt(n, field, "empty list: the sweep would have no runs")
		}
		for _, x := range n.Content {
			if err := one(x); err != nil {
				return nil, err
			}
		}
	default:
		if err := one(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// axisOf parses one axis: a dotted field path and a non-empty list.
func (p *parser) axisOf(k, v *yaml.Node, where string) (axis, error) {
	if k.Kind != yaml.ScalarNode || k.Value == "" {
		return axis{}, p.errAt(k, where, "an axis is a field path such as optimizer.lr")
	}
	a := axis{key: k.Value, path: strings.Split(k.Value, "."), node: k}
	field := where + "." + k.Value
	for _, part := range a.path {
		if part == "" {
			return axis{}, p.errAt(k, field, "empty part in a dotted field path")
		}
	}
	if a.key == "seed" {
		return axis{}, p.errAt(k, field, "vary seeds with the seeds: key")
	}
	v = deref(v)
	if v.Kind != yaml.SequenceNode {
		return axis{}, p.errAt(v, field, "an axis is a list of values, e.g. [0.01, 0.1]")
	}
	if len(v.Content) == 0 {
		return axis{}, p.errAt(v, field, "empty list: the sweep would have no runs")
	}
	for _, x := range v.Content {
		xv, err := p.fromYAML(x, false)
		if err != nil {
			return axis{}, err
		}
		if a.key == "preset" {
			if xv.kind != vScalar || deref(x).ShortTag() != "!!str" {
				return axis{}, p.errAt(x, field, "a preset axis lists preset names")
			}
			if _, err := harness.LookupPreset(deref(x).Value); err != nil {
				return axis{}, p.errAt(x, field, strings.TrimPrefix(err.Error(), harness.ErrInvalid.Error()+": "))
			}
		}
		a.values = append(a.values, xv)
	}
	return a, nil
}

// grid parses a mapping of axes; each axis is its own group.
func (p *parser) grid(n *yaml.Node, where string) ([]group, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, where, "must be a mapping of axes (field path: list of values)")
	}
	if len(n.Content) == 0 {
		return nil, p.errAt(n, where, "empty grid: give at least one axis (field path: list of values), or remove it")
	}
	var out []group
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if prev, dup := seen[n.Content[i].Value]; dup {
			return nil, p.errAt(n.Content[i], where+"."+n.Content[i].Value, fmt.Sprintf("axis given twice (first at line %d)", prev.Line))
		}
		seen[n.Content[i].Value] = n.Content[i]
		a, err := p.axisOf(n.Content[i], n.Content[i+1], where)
		if err != nil {
			return nil, err
		}
		out = append(out, group{axes: []axis{a}})
	}
	return out, nil
}

// zip parses one zip group (a mapping of equally long axes) or a list of
// them.
func (p *parser) zip(n *yaml.Node, where string) ([]group, error) {
	n = deref(n)
	var maps []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		maps = []*yaml.Node{n}
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, p.errAt(n, where, "empty list of zip groups")
		}
		for _, m := range n.Content {
			maps = append(maps, deref(m))
		}
	default:
		return nil, p.errAt(n, where, "must be a mapping of axes of equal length (or a list of such mappings)")
	}
	var out []group
	for gi, m := range maps {
		w := where
		if n.Kind == yaml.SequenceNode {
			w = fmt.Sprintf("%s[%d]", where, gi)
		}
		gs, err := p.grid(m, w)
		if err != nil {
			return nil, err
		}
		g := group{zip: true}
		for _, x := range gs {
			a := x.axes[0]
			if len(g.axes) > 0 && len(a.values) != len(g.axes[0].values) {
				return nil, p.errAt(a.node, w+"."+a.key, fmt.Sprintf("zipped axes need equal lengths: %d values here, %d for %s (line %d)",
					len(a.values), len(g.axes[0].values), g.axes[0].key, g.axes[0].node.Line))
			}
			g.axes = append(g.axes, a)
		}
		out = append(out, g)
	}
	return out, nil
}

// suggest returns the name in names closest to s (case-insensitive or
// within two edits), or "".
func suggest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return n
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
