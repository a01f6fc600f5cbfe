package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
)

// maxRuns bounds the size of a sweep, so that a typo (a range of a billion
// seeds) fails at once instead of exhausting memory.
const maxRuns = 100000

// Run is one run of a sweep.
type Run struct {
	// Index is the run's position in the sweep (0-based, after duplicates
	// are removed); shards partition runs by Index.
	Index int
	// Config is the validated configuration, seed included.
	Config harness.Config
	// Key is Config.Key(), the run's identity.
	Key string
	// Label names the run by what varies in its experiment: the values of
	// its axes and its seed, e.g. "optimizer.lr=0.1 seed=3".
	Label string
	// Iterations is the number of updates the run makes (known after
	// Plan.Prepare; 0 before).
	Iterations int
	// Memory is the run's estimated memory (known after Plan.Prepare).
	Memory harness.Memory

	// where the run came from, for errors found later (Prepare)
	src *point
}

// point is one combination of axis values of a block.
type point struct {
	file  string
	block *block
	tree  *val
	label string
	// axisNodes are the nodes of the axis values of the point.
	axisNodes []*yaml.Node
}

// Duplicate is a run of the expansion with the same key as an earlier run;
// it is run once.
type Duplicate struct {
	Label string
	// Of is the Index of the run it duplicates.
	Of int
}

// Plan is an expanded, validated sweep.
type Plan struct {
	// Name is the experiment file's name: field (may be empty).
	Name string
	Runs []Run
	// Duplicates lists the combinations that resolved to a key already
	// planned.
	Duplicates []Duplicate
}

// Expand resolves every run of the experiment and validates it, before
// anything runs. The first bad run gives an *Error naming the file, line
// and field.
func (e *Experiment) Expand() (*Plan, error) {
	plan := &Plan{Name: e.Name}
	byKey := map[string]int{}
	presets := map[string]*val{}
	total := 0
	multi := len(e.blocks) > 1
	for bi, b := range e.blocks {
		size := 1
		for _, g := range b.groups {
			size *= g.size()
			if size > maxRuns {
				return nil, &Error{File: e.File, Line: b.node.Line, Column: b.node.Column, Err: fmt.Errorf("the axes give more than %d combinations", maxRuns)}
			}
		}
		idx := make([]int, len(b.groups))
		for c := 0; c < size; c++ {
			// idx is the mixed-radix digits of c, the first group slowest.
			for i, r := len(b.groups)-1, c; i >= 0; i-- {
				n := b.groups[i].size()
				idx[i] = r % n
				r /= n
			}
			pt, preset, err := e.resolve(b, bi, idx, multi, presets)
			if err != nil {
				return nil, err
			}
			seeds := b.seeds
			if b.seedsNode == nil {
				seeds = preset.Seeds
				if len(seeds) == 0 {
					seeds = []uint64{0}
				}
			}
			total += len(seeds)
			if total > maxRuns {
				return nil, &Error{File: e.File, Line: b.node.Line, Column: b.node.Column, Err: fmt.Errorf("the sweep has more than %d runs", maxRuns)}
			}
			cfg, err := pt.config()
			if err != nil {
				return nil, err
			}
			for _, s := range seeds {
				c := cloneConfig(cfg)
				c.Seed = s
				label := strings.TrimSpace(pt.label + fmt.Sprintf(" seed=%d", s))
				if _, err := c.Resolve(); err != nil {
					return nil, pt.locate(err, label)
				}
				key := c.Key()
				if i, dup := byKey[key]; dup {
					plan.Duplicates = append(plan.Duplicates, Duplicate{Label: label, Of: i})
					continue
				}
				byKey[key] = len(plan.Runs)
				plan.Runs = append(plan.Runs, Run{Index: len(plan.Runs), Config: c, Key: key, Label: label, src: pt})
			}
		}
	}
	return plan, nil
}

func cloneConfig(c harness.Config) harness.Config {
	// A JSON round trip copies every slice and map, whatever fields the
	// configuration has.
	var out harness.Config
	if err := json.Unmarshal(c.JSON(), &out); err != nil {
		panic(err)
	}
	return out
}

// resolve builds the configuration tree of one combination of block b.
func (e *Experiment) resolve(b *block, bi int, idx []int, multi bool, presets map[string]*val) (*point, harness.Preset, error) {
	pt := &point{file: e.File, block: b}
	var labels []string
	if multi {
		name := b.name
		if name == "" && b.preset != nil {
			name = b.preset.Value
		}
		if name == "" {
			name = fmt.Sprintf("experiment %d", bi+1)
		}
		labels = append(labels, "["+name+"]")
	}
	presetName := ""
	if b.preset != nil {
		presetName = b.preset.Value
	}
	var overrides []*val
	for gi, g := range b.groups {
		for _, a := range g.axes {
			v := a.values[idx[gi]]
			pt.axisNodes = append(pt.axisNodes, v.node)
			labels = append(labels, a.key+"="+v.short())
			if a.key == "preset" {
				presetName = deref(v.node).Value
				continue
			}
			overrides = append(overrides, nested(a.path, v, a.node))
		}
	}
	pt.label = strings.Join(labels, " ")
	var tree *val
	var preset harness.Preset
	if presetName != "" {
		var err error
		preset, err = harness.LookupPreset(presetName)
		if err != nil {
			return nil, preset, err // checked when parsing
		}
		tree = presets[presetName]
		if tree == nil {
			if tree, err = fromJSON(preset.Config.JSON()); err != nil {
				return nil, preset, fmt.Errorf("sweep: preset %s: %v", presetName, err)
			}
			presets[presetName] = tree
		}
	} else {
		tree = newMap(b.node)
	}
	for _, o := range slices.Concat(b.bases, overrides) {
		tree = merge(tree, o)
	}
	// A preset's strategy parameters belong to its strategy: another
	// strategy starts from its own defaults (as with cleval run
	// --strategy), keeping only the parameters the file sets.
	if presetName != "" {
		if s := tree.get("strategy"); s != nil && s.short() != preset.Config.Strategy {
			if sp := tree.get("strategy_params"); sp != nil {
				tree = withoutPresetValues(tree, "strategy_params", sp)
			}
		}
	}
	// Likewise a preset's model fields belong to its model: another model
	// keeps only the hidden sizes and width the file sets.
	if presetName != "" {
		if m := tree.get("model"); m != nil && m.short() != preset.Config.ModelName() {
			for _, key := range []string{"hidden", "nf"} {
				if v := tree.get(key); v != nil {
					tree = withoutPresetValues(tree, key, v)
				}
			}
		}
	}
	pt.tree = tree
	return pt, preset, nil
}

// withoutPresetValues returns a copy of the map tree whose field key keeps
// only the values that did not come from the preset (none: no field).
func withoutPresetValues(tree *val, key string, v *val) *val {
	t := newMap(tree.node)
	for _, k := range tree.keys {
		t.set(k, tree.fields[k])
		t.keyNodes[k] = tree.keyNodes[k]
	}
	if kept := dropPresetValues(v); kept != nil {
		t.set(key, kept)
	} else {
		delete(t.fields, key)
		t.keys = slices.DeleteFunc(t.keys, func(k string) bool { return k == key })
	}
	return t
}

// config decodes the point's tree into a configuration, rejecting unknown
// fields and wrong types with their location.
func (pt *point) config() (harness.Config, error) {
	var cfg harness.Config
	if err := pt.checkFields(pt.tree, reflect.TypeOf(cfg), nil); err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(bytes.NewReader(pt.tree.json()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			want := te.Type.String()
			switch te.Type.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				want = "an integer"
			case reflect.Float32, reflect.Float64:
				want = "a number"
			case reflect.String:
				want = "a string"
			case reflect.Bool:
				want = "true or false"
			case reflect.Slice, reflect.Array:
				want = "a list"
			case reflect.Struct, reflect.Map:
				want = "a mapping"
			}
			return cfg, pt.errField(strings.Split(te.Field, "."), fmt.Errorf("got %s, want %s", te.Value, want), "")
		}
		return cfg, pt.locate(err, pt.label)
	}
	return cfg, nil
}
