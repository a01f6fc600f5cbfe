package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// val is a JSON value built from YAML (or from a preset's JSON) that
// remembers where each part was written, so that an error found in the
// resolved configuration can name its file, line and field. Values are
// immutable once built: merging makes new maps.
type val struct {
	// node is where the value was written; nil for values from a preset.
	node *yaml.Node
	kind valKind
	// scalar is the JSON text of a scalar.
	scalar string
	items  []*val
	keys   []string
	fields map[string]*val
	// keyNodes are where the keys of a map were written (for errors
	// about a key itself, such as an unknown field).
	keyNodes map[string]*yaml.Node
	// from says where a value given outside a file came from (a
	// command-line flag, see Field).
	from string
	// replace makes merge put this map in place of the one below it
	// instead of merging the two (Field.Replace).
	replace bool
}

type valKind int

const (
	vScalar valKind = iota
	vSeq
	vMap
)

func (v *val) get(key string) *val {
	if v == nil || v.kind != vMap {
		return nil
	}
	return v.fields[key]
}

// at returns the value at a dotted path (nil when absent).
func (v *val) at(path []string) *val {
	for _, k := range path {
		v = v.get(k)
		if v == nil {
			return nil
		}
	}
	return v
}

func newMap(node *yaml.Node) *val {
	return &val{node: node, kind: vMap, fields: map[string]*val{}, keyNodes: map[string]*yaml.Node{}}
}

// keyNode returns where the last key of path was written, or nil.
func (v *val) keyNode(path []string) *yaml.Node {
	if len(path) == 0 {
		return nil
	}
	p := v.at(path[:len(path)-1])
	if p == nil || p.kind != vMap {
		return nil
	}
	return p.keyNodes[path[len(path)-1]]
}

func (v *val) set(key string, x *val) {
	if _, ok := v.fields[key]; !ok {
		v.keys = append(v.keys, key)
	}
	v.fields[key] = x
}

// merge returns b laid over a: maps merge key by key (recursively),
// anything else is replaced by b.
func merge(a, b *val) *val {
	if a == nil || a.kind != vMap || b.kind != vMap || b.replace {
		return b
	}
	out := newMap(b.node)
	if b.node == nil {
		out.node = a.node
	}
	for _, k := range a.keys {
		out.set(k, a.fields[k])
		if n := a.keyNodes[k]; n != nil {
			out.keyNodes[k] = n
		}
	}
	for _, k := range b.keys {
		out.set(k, merge(a.fields[k], b.fields[k]))
		if n := b.keyNodes[k]; n != nil {
			out.keyNodes[k] = n
		}
	}
	return out
}

// nested returns the value x placed at a dotted path: {p0: {p1: x}};
// key is where the path was written.
func nested(path []string, x *val, key *yaml.Node) *val {
	for i := len(path) - 1; i >= 0; i-- {
		m := newMap(key)
		m.set(path[i], x)
		m.keyNodes[path[i]] = key
		x = m
	}
	return x
}

// dropPresetValues removes, below v, the values that came from a preset
// (node == nil), keeping those written in the file.
func dropPresetValues(v *val) *val {
	if v == nil || v.node == nil && v.kind != vMap {
		return nil
	}
	if v.kind != vMap {
		return v
	}
	out := newMap(v.node)
	for _, k := range v.keys {
		if x := dropPresetValues(v.fields[k]); x != nil {
			out.set(k, x)
			out.keyNodes[k] = v.keyNodes[k]
		}
	}
	if out.node == nil && len(out.keys) == 0 {
		return nil
	}
	return out
}

// writeJSON writes v as JSON, map keys in their order.
func (v *val) writeJSON(b *bytes.Buffer) {
	switch v.kind {
	case vScalar:
		b.WriteString(v.scalar)
	case vSeq:
		b.WriteByte('[')
		for i, x := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			x.writeJSON(b)
		}
		b.WriteByte(']')
	case vMap:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			v.fields[k].writeJSON(b)
		}
		b.WriteByte('}')
	}
}

func (v *val) json() []byte {
	var b bytes.Buffer
	v.writeJSON(&b)
	return b.Bytes()
}

// short is a compact rendering for run labels.
func (v *val) short() string {
	if v.kind == vScalar {
		var s string
		if json.Unmarshal([]byte(v.scalar), &s) == nil {
			return s
		}
		return v.scalar
	}
	return string(v.json())
}

// fromJSON builds a value (without locations) from JSON text, keeping the
// order of object keys and the exact text of numbers.
func fromJSON(data []byte) (*val, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("sweep: trailing data after JSON value")
	}
	return v, nil
}

func readJSON(dec *json.Decoder) (*val, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := newMap(nil)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				x, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				m.set(kt.(string), x)
			}
			_, err := dec.Token()
			return m, err
		case '[':
			s := &val{kind: vSeq}
			for dec.More() {
				x, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				s.items = append(s.items, x)
			}
			_, err := dec.Token()
			return s, err
		}
		return nil, fmt.Errorf("sweep: unexpected %v", t)
	case json.Number:
		return &val{kind: vScalar, scalar: t.String()}, nil
	default:
		b, _ := json.Marshal(t)
		return &val{kind: vScalar, scalar: string(b)}, nil
	}
}

// maxValues bounds the values an experiment file may expand to, aliases
// included (a YAML "billion laughs" would otherwise exhaust memory).
const maxValues = 1 << 17

// fromYAML converts a YAML node to a value; map keys with dots (when
// dotted is set) are paths: {optimizer.lr: 0.1} is {optimizer: {lr: 0.1}}.
func (p *parser) fromYAML(n *yaml.Node, dotted bool) (*val, error) {
	return p.fromYAMLDepth(n, dotted, 0)
}

func (p *parser) fromYAMLDepth(n *yaml.Node, dotted bool, depth int) (*val, error) {
	p.values++
	if p.values > maxValues {
		return nil, p.errAt(n, "", fmt.Sprintf("the file expands to more than %d values (aliases repeated too often?)", maxValues))
	}
	if depth > 100 {
		return nil, p.errAt(n, "", "values nested more than 100 deep (an alias cycle?)")
	}
	switch n.Kind {
	case yaml.AliasNode:
		x, err := p.fromYAMLDepth(n.Alias, dotted, depth+1)
		if err != nil {
			return nil, err
		}
		// Errors in an aliased value point at the alias.
		return relocate(x, n), nil
	case yaml.ScalarNode:
		s, err := p.scalarJSON(n)
		if err != nil {
			return nil, err
		}
		return &val{node: n, kind: vScalar, scalar: s}, nil
	case yaml.SequenceNode:
		s := &val{node: n, kind: vSeq}
		for _, c := range n.Content {
			x, err := p.fromYAMLDepth(c, dotted, depth+1)
			if err != nil {
				return nil, err
			}
			s.items = append(s.items, x)
		}
		return s, nil
	case yaml.MappingNode:
		m := newMap(n)
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				if err := p.mergeKey(m, v, dotted, depth); err != nil {
					return nil, err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, p.errAt(k, "", "a key must be a plain name")
			}
			if prev, dup := seen[k.Value]; dup {
				return nil, p.errAt(k, k.Value, fmt.Sprintf("key given twice (first at line %d)", prev.Line))
			}
			seen[k.Value] = k
			x, err := p.fromYAMLDepth(v, dotted, depth+1)
			if err != nil {
				return nil, err
			}
			path := []string{k.Value}
			if dotted {
				path = strings.Split(k.Value, ".")
				for _, part := range path {
					if part == "" {
						return nil, p.errAt(k, k.Value, "empty part in a dotted field path")
					}
				}
			}
			addAt(m, path, x, k)
		}
		return m, nil
	}
	return nil, p.errAt(n, "", "unexpected YAML node")
}

// addAt merges x into m at path (creating maps on the way); key is where
// the path was written.
func addAt(m *val, path []string, x *val, key *yaml.Node) {
	head := path[0]
	if len(path) > 1 {
		x = nested(path[1:], x, key)
	}
	m.set(head, merge(m.fields[head], x))
	m.keyNodes[head] = key
}

// mergeKey applies a YAML merge key (<<: *anchor or a list of them);
// explicit keys of the mapping win, as YAML specifies, because they are
// merged afterwards.
func (p *parser) mergeKey(m *val, v *yaml.Node, dotted bool, depth int) error {
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	for _, s := range srcs {
		x, err := p.fromYAMLDepth(s, dotted, depth+1)
		if err != nil {
			return err
		}
		if x.kind != vMap {
			return p.errAt(s, "<<", "a merge key needs a mapping")
		}
		for _, k := range x.keys {
			if _, ok := m.fields[k]; !ok {
				m.set(k, x.fields[k])
				m.keyNodes[k] = x.keyNodes[k]
			}
		}
	}
	return nil
}

// relocate returns a copy of x whose locations are node.
func relocate(x *val, node *yaml.Node) *val {
	c := *x
	c.node = node
	if x.kind == vSeq {
		c.items = make([]*val, len(x.items))
		for i, it := range x.items {
			c.items[i] = relocate(it, node)
		}
	}
	if x.kind == vMap {
		c.fields = make(map[string]*val, len(x.fields))
		c.keyNodes = make(map[string]*yaml.Node, len(x.fields))
		c.keys = append([]string(nil), x.keys...)
		for k, f := range x.fields {
			c.fields[k] = relocate(f, node)
			c.keyNodes[k] = node
		}
	}
	return &c
}

// scalarJSON converts a YAML scalar to JSON text by its resolved tag.
func (p *parser) scalarJSON(n *yaml.Node) (string, error) {
	switch n.ShortTag() {
	case "!!null":
		return "null", nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return "", p.errAt(n, "", err.Error())
		}
		return strconv.FormatBool(b), nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return strconv.FormatInt(i, 10), nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil {
			return strconv.FormatUint(u, 10), nil
		}
		return "", p.errAt(n, "", fmt.Sprintf("integer %s is out of range", n.Value))
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return "", p.errAt(n, "", err.Error())
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "", p.errAt(n, "", fmt.Sprintf("%s: not a finite number", n.Value))
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case "!!str", "!!timestamp":
		b, _ := json.Marshal(n.Value)
		return string(b), nil
	}
	return "", p.errAt(n, "", fmt.Sprintf("unsupported YAML type %s", n.Tag))
}

// toYAML converts a value to a YAML node (for writing preset files).
func toYAML(v *val) *yaml.Node {
	switch v.kind {
	case vSeq:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, x := range v.items {
			c := toYAML(x)
			if c.Kind != yaml.ScalarNode {
				n.Style = 0
			}
			n.Content = append(n.Content, c)
		}
		return n
	case vMap:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range v.keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, toYAML(v.fields[k]))
		}
		return n
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(v.scalar))
	dec.UseNumber()
	dec.Decode(&x)
	switch t := x.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(t.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}
		return n
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v.scalar}
}
