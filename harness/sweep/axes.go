package sweep

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
)

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
