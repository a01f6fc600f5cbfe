package sweep

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
)

// Field is one configuration field set outside an experiment file, by a
// command-line flag for instance: its dotted JSON path, its value and
// where it was given.
type Field struct {
	// Path is the dotted JSON path of the field, e.g. "optimizer.lr" or
	// "strategy_params.mem_size".
	Path string
	// Value is the field's value: anything encoding/json marshals (a
	// json.RawMessage is taken as it is).
	Value any
	// From says where the value was given (e.g. "--lr"); errors about the
	// field carry it in Error.Source.
	From string
	// Replace makes an object value replace the value below the path
	// instead of being merged into it field by field.
	Replace bool
}

// FromFields makes the experiment of a command line: the preset, the
// fields laid over it in order (as an experiment file's base: a strategy
// other than the preset's starts from its own defaults, keeping the
// strategy parameters given here), and the seeds (nil: the preset's).
// name labels the experiment (Error.File is empty: errors name the field
// and its Source).
func FromFields(name, preset string, fields []Field, seeds []uint64) (*Experiment, error) {
	p, err := harness.LookupPreset(preset)
	if err != nil {
		return nil, err
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	b := &block{node: root, preset: &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.Name}}
	base := newMap(root)
	for _, f := range fields {
		path := strings.Split(f.Path, ".")
		for _, part := range path {
			if part == "" {
				return nil, &Error{Field: f.Path, Source: f.From, Err: fmt.Errorf("%w: empty part in the field path %q", harness.ErrInvalid, f.Path)}
			}
		}
		if path[0] == "seed" || path[0] == "preset" {
			return nil, &Error{Field: f.Path, Source: f.From, Err: fmt.Errorf("%w: %s is not set as a field", harness.ErrInvalid, path[0])}
		}
		raw, ok := f.Value.(json.RawMessage)
		if !ok {
			if raw, err = json.Marshal(f.Value); err != nil {
				return nil, &Error{Field: f.Path, Source: f.From, Err: fmt.Errorf("%w: %v", harness.ErrInvalid, err)}
			}
		}
		v, err := fromJSON(raw)
		if err != nil {
			return nil, &Error{Field: f.Path, Source: f.From, Err: fmt.Errorf("%w: %v", harness.ErrInvalid, err)}
		}
		node := &yaml.Node{Kind: yaml.ScalarNode, Value: f.From}
		v = sourced(v, node, f.From)
		v.replace = f.Replace
		addAt(base, path, v, node)
	}
	b.bases = []*val{base}
	if seeds != nil {
		b.seeds = seeds
		b.seedsNode = &yaml.Node{Kind: yaml.ScalarNode}
	}
	return &Experiment{File: "", Name: name, blocks: []*block{b}}, nil
}

// sourced returns a copy of x whose parts were written at node, given by
// from.
func sourced(x *val, node *yaml.Node, from string) *val {
	c := relocate(x, node)
	var mark func(v *val)
	mark = func(v *val) {
		v.from = from
		for _, it := range v.items {
			mark(it)
		}
		for _, f := range v.fields {
			mark(f)
		}
	}
	mark(c)
	return c
}
