package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
)

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
