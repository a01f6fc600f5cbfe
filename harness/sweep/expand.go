package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
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

// errField makes an *Error at the field path of the point's tree.
func (pt *point) errField(path []string, err error, run string) *Error {
	e := &Error{File: pt.file, Field: strings.Join(path, "."), Run: run, Err: err, Source: pt.sourceOf(path)}
	n := pt.nodeOf(path)
	if n == nil {
		n = pt.fallbackNode()
	}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// nodeOf returns where the value at path was written, or where its
// nearest written part is, or nil.
func (pt *point) nodeOf(path []string) *yaml.Node {
	v := pt.tree.at(path)
	if v == nil {
		return nil
	}
	if v.node != nil {
		return v.node
	}
	if w := written(v); len(w) > 0 {
		return w[0].node
	}
	return nil
}

// sourceOf returns where the value at path was given when it was not
// written in a file (Field.From), or "".
func (pt *point) sourceOf(path []string) string {
	v := pt.tree.at(path)
	if v == nil {
		return ""
	}
	if v.from != "" {
		return v.from
	}
	// A map assembled from several fields: all of them.
	var froms []string
	var walk func(v *val)
	walk = func(v *val) {
		if v.from != "" && !slices.Contains(froms, v.from) {
			froms = append(froms, v.from)
		}
		for _, k := range v.keys {
			walk(v.fields[k])
		}
	}
	walk(v)
	return strings.Join(froms, ", ")
}

func (pt *point) fallbackNode() *yaml.Node {
	if len(pt.axisNodes) > 0 {
		return pt.axisNodes[len(pt.axisNodes)-1]
	}
	if pt.block.preset != nil && len(pt.block.bases) == 0 {
		return pt.block.preset
	}
	return pt.block.node
}

// writtenVal is a value written in the file, with its path.
type writtenVal struct {
	path []string
	node *yaml.Node
}

// written returns the values below v that were written in the file
// (leaves, and maps written as a whole), in order.
func written(v *val) []writtenVal {
	var out []writtenVal
	var walk func(v *val, path []string)
	walk = func(v *val, path []string) {
		if v.kind == vMap {
			for _, k := range v.keys {
				walk(v.fields[k], append(slices.Clone(path), k))
			}
			if len(v.keys) == 0 && v.node != nil {
				out = append(out, writtenVal{path, v.node})
			}
			return
		}
		if v.node != nil {
			out = append(out, writtenVal{path, v.node})
		}
	}
	walk(v, nil)
	return out
}

var leadingPath = regexp.MustCompile(`^([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\b`)

// locate turns a validation error into an *Error at the field it names:
// the path the message starts with (eval.size, optimizer, ...), else a
// field written in the file whose name the message mentions, else the
// point's axes or block.
func (pt *point) locate(err error, run string) *Error {
	msg := strings.TrimPrefix(err.Error(), harness.ErrInvalid.Error()+": ")
	msg = strings.TrimPrefix(msg, "strategies: ")
	fileVals := written(pt.tree)
	mentions := func(name string) bool {
		return regexp.MustCompile(`(^|[^a-z0-9_])` + regexp.QuoteMeta(name) + `($|[^a-z0-9_])`).MatchString(msg)
	}
	var path []string
	if m := leadingPath.FindStringSubmatch(msg); m != nil && pt.tree.at(strings.Split(m[1], ".")) != nil {
		path = strings.Split(m[1], ".")
		// "optimizer: learning rate": prefer the written field below it
		// that the message names.
		if v := pt.tree.at(path); v.kind == vMap {
			below := written(v)
			for _, w := range below {
				if mentions(w.path[len(w.path)-1]) {
					path = append(path, w.path...)
					break
				}
			}
			if len(path) == len(strings.Split(m[1], ".")) && len(below) == 1 {
				path = append(path, below[0].path...)
			}
		}
	} else {
		// The last written field whose name appears: axes come after the
		// base, so a value from an axis wins.
		for i := len(fileVals) - 1; i >= 0; i-- {
			w := fileVals[i]
			if len(w.path) > 0 && mentions(w.path[len(w.path)-1]) {
				path = w.path
				break
			}
		}
	}
	e := &Error{File: pt.file, Run: run, Err: errors.New(msg)}
	var n *yaml.Node
	if path != nil {
		e.Field = strings.Join(path, ".")
		e.Source = pt.sourceOf(path)
		n = pt.nodeOf(path)
	}
	if n == nil {
		n = pt.fallbackNode()
		if pt.tree.get("preset") == nil && pt.file != "" {
			e.Err = fmt.Errorf("%s (the experiment names no preset: start from one with preset: NAME, see cleval presets, or set every field in base)", msg)
		}
	}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// checkFields rejects keys that are not fields of t (by their JSON names,
// exactly), descending through structs, maps and lists. Types that decode
// themselves (json.Unmarshaler, such as json.RawMessage) accept anything:
// their own decoding checks them.
func (pt *point) checkFields(v *val, t reflect.Type, path []string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if v.kind != vMap {
			return nil // the decoder reports the type
		}
		fields := jsonFields(t)
		for _, k := range v.keys {
			ft, ok := fields[k]
			p := append(slices.Clone(path), k)
			if !ok {
				names := make([]string, 0, len(fields))
				for n := range fields {
					names = append(names, n)
				}
				slices.Sort(names)
				hint := ""
				if s := suggest(k, names); s != "" {
					hint = fmt.Sprintf("did you mean %q? ", s)
				}
				e := pt.errField(p, fmt.Errorf("unknown field %q (%sknown: %s)", k, hint, strings.Join(names, ", ")), "")
				if n := pt.tree.keyNode(p); n != nil {
					e.Line, e.Column = n.Line, n.Column
				}
				return e
			}
			if err := pt.checkFields(v.fields[k], ft, p); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.kind == vMap {
			for _, k := range v.keys {
				if err := pt.checkFields(v.fields[k], t.Elem(), append(slices.Clone(path), k)); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if v.kind == vSeq {
			for i, x := range v.items {
				if err := pt.checkFields(x, t.Elem(), append(slices.Clone(path), fmt.Sprint(i))); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields (embedded structs
// included) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	return out
}

// Prepare builds the stream of every run with data (which caches the
// datasets), so that a run whose stream cannot be built fails now, with
// its location, and sets each run's Iterations and Memory. Before building
// a stream it refuses one that would not fit in memory, and after, a run
// of more than harness.MaxUpdates updates or whose model and batches
// alone would not fit (harness.CheckRun with one thread; CheckMemory
// checks the threads and workers).
func (p *Plan) Prepare(data *harness.Data) error {
	for i := range p.Runs {
		r := &p.Runs[i]
		fail := func(err error) error {
			if r.src != nil && errors.Is(err, harness.ErrInvalid) {
				return r.src.locate(err, r.Label)
			}
			return err
		}
		if err := data.CheckResources(&r.Config); err != nil {
			return fail(err)
		}
		s, err := data.Stream(&r.Config)
		if err != nil {
			return fail(err)
		}
		if err := harness.CheckRun(&r.Config, s, 1, 1); err != nil {
			return fail(err)
		}
		r.Memory = harness.EstimateMemory(&r.Config, s)
		r.Iterations = 0
		for _, n := range harness.Iterations(&r.Config, s) {
			r.Iterations += n
		}
	}
	return nil
}

// CheckMemory refuses to run runs (prepared) workers at a time with
// threads threads each when the largest would, times workers, need more
// memory than this machine has (harness.MemoryLimit). threads and workers
// are as the Runner resolves them (<= 0: the defaults).
func CheckMemory(runs []Run, workers, threads int) error {
	workers = min(max(1, workers), max(1, len(runs)))
	if threads <= 0 {
		threads = ThreadsPerRun(workers)
	}
	var need int64
	worst := -1
	for i, r := range runs {
		if m := r.Memory.Total(threads); m > need {
			need, worst = m, i
		}
	}
	if worst < 0 {
		return nil
	}
	total := need * int64(workers)
	if need > 0 && total/int64(workers) != need {
		total = math.MaxInt64
	}
	if limit := harness.MemoryLimit(); limit > 0 && total > limit {
		return fmt.Errorf("%w: %d runs at once with %d threads each would need about %s of memory (run %s alone about %s), more than the %s this machine has: use fewer workers or threads",
			harness.ErrInvalid, workers, threads, harness.FormatBytes(total), runs[worst].Label, harness.FormatBytes(need), harness.FormatBytes(limit))
	}
	return nil
}
