package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
