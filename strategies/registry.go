package strategies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// ParamDoc documents one parameter of a strategy.
type ParamDoc struct {
	// Name is the parameter's JSON name; Default its default value as Go
	// prints it (fmt.Sprint); Doc what it means and its range.
	Name    string
	Default string
	Doc     string
}

// Def defines a strategy for Register. C is its parameter struct: every
// exported field with a json tag is a parameter, documented by a doc tag
// (`json:"alpha" doc:"mixing weight in [0, 1]"`); fields of embedded
// structs (BaseConfig) count as the struct's own. When *C has a
// Validate() error method it is called on the user's values before New.
type Def[C any] struct {
	// Name is the name runs and configurations use; Summary describes the
	// strategy in one line.
	Name, Summary string
	// Defaults holds the default value of every parameter.
	Defaults C
	// New builds the strategy from cfg: Defaults with the user's values
	// decoded over them and validated. New may rewrite cfg (a wrapper
	// resolves the parameters of the strategy it wraps); what cfg holds
	// when New returns is recorded with the run.
	New func(cfg *C) (Strategy, error)
}

// Info describes a registered strategy.
type Info struct {
	Name    string
	Summary string
	// Params documents the parameters, in the order of the struct's
	// fields, with defaults taken from Def.Defaults.
	Params []ParamDoc
	// resolve builds the strategy from a JSON object of parameters and
	// returns its resolved parameters.
	resolve func(raw json.RawMessage) (Strategy, json.RawMessage, error)
}

// Resolved is a strategy built from a name and parameters, with its
// parameters as recorded: every parameter with its value, nested
// strategies' included.
type Resolved struct {
	Name     string
	Params   json.RawMessage
	Strategy Strategy
}

var (
	regMu    sync.RWMutex
	registry = map[string]Info{}
)

// ErrUnknown is returned (wrapped) by Lookup and Resolve for names that
// are not registered.
var ErrUnknown = errors.New("unknown strategy")

// Register makes the strategy d defines available by name. It panics if
// the name is empty or taken, New is nil, or a parameter lacks its json or
// doc tag: all programming errors.
func Register[C any](d Def[C]) {
	if d.Name == "" || d.New == nil {
		panic("strategies: Register needs a name and a constructor")
	}
	docs, err := paramDocs(reflect.ValueOf(d.Defaults))
	if err != nil {
		panic(fmt.Sprintf("strategies: Register %s: %v", d.Name, err))
	}
	defaults, err := json.Marshal(d.Defaults)
	if err != nil {
		panic(fmt.Sprintf("strategies: Register %s: defaults do not marshal: %v", d.Name, err))
	}
	name := d.Name
	info := Info{Name: name, Summary: d.Summary, Params: docs}
	info.resolve = func(raw json.RawMessage) (Strategy, json.RawMessage, error) {
		// A fresh copy of the defaults: decoding into d.Defaults itself
		// would reuse (and change) the backing arrays of its slices.
		var cfg C
		if err := json.Unmarshal(defaults, &cfg); err != nil {
			return nil, nil, fmt.Errorf("strategies: %s: defaults: %v", name, err)
		}
		if err := decodeParams(name, raw, &cfg); err != nil {
			return nil, nil, err
		}
		s, err := d.New(&cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("strategies: %s: %w", name, err)
		}
		resolved, err := json.Marshal(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("strategies: %s: parameters do not marshal: %v", name, err)
		}
		return s, resolved, nil
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("strategies: strategy " + name + " registered twice")
	}
	registry[name] = info
}

// paramDocs documents the parameters of a parameter struct value.
func paramDocs(v reflect.Value) ([]ParamDoc, error) {
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("parameters must be a struct, got %s", v.Kind())
	}
	var out []ParamDoc
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			sub, err := paramDocs(v.Field(i))
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("parameter field %s has no json tag", f.Name)
		}
		doc := f.Tag.Get("doc")
		if doc == "" {
			return nil, fmt.Errorf("parameter %s has no doc tag", name)
		}
		out = append(out, ParamDoc{Name: name, Default: defaultString(v.Field(i)), Doc: doc})
	}
	return out, nil
}

// defaultString prints a default as Go does (fmt.Sprint), except raw JSON,
// printed as JSON ({} when empty).
func defaultString(v reflect.Value) string {
	if raw, ok := v.Interface().(json.RawMessage); ok {
		if len(bytes.TrimSpace(raw)) == 0 {
			return "{}"
		}
		return string(raw)
	}
	return fmt.Sprint(v.Interface())
}

// Lookup returns the registered strategy called name.
func Lookup(name string) (Info, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	info, ok := registry[name]
	if !ok {
		names := make([]string, 0, len(registry))
		for n := range registry {
			names = append(names, n)
		}
		slices.Sort(names)
		return Info{}, fmt.Errorf("strategies: %w %q (known: %v)", ErrUnknown, name, names)
	}
	return info, nil
}

// List returns every registered strategy, sorted by name.
func List() []Info {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]Info, 0, len(registry))
	for _, info := range registry {
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Has reports whether the strategy has a parameter called param.
func (info Info) Has(param string) bool {
	return slices.ContainsFunc(info.Params, func(p ParamDoc) bool { return p.Name == param })
}

// Resolve builds the strategy registered as name from params (a JSON
// object; nil or empty means every default). Unknown or invalid
// parameters are errors that name the strategy and the parameter.
func Resolve(name string, params json.RawMessage) (Resolved, error) {
	info, err := Lookup(name)
	if err != nil {
		return Resolved{}, err
	}
	s, resolved, err := info.resolve(params)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{Name: name, Params: resolved, Strategy: s}, nil
}

// Validator is implemented by parameter structs that check their values.
type Validator interface {
	Validate() error
}

// decodeParams overlays the JSON object raw on dst (a pointer to a struct
// already holding the defaults), rejects unknown fields, and validates the
// result when dst implements Validator. Errors name the strategy.
func decodeParams(strategy string, raw json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				field := te.Field[strings.LastIndex(te.Field, ".")+1:]
				return fmt.Errorf("strategies: %s: parameter %s: got a %s, want %s", strategy, field, te.Value, kindName(te.Type))
			}
			return fmt.Errorf("strategies: %s: parameters: %v", strategy, err)
		}
	}
	if v, ok := dst.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("strategies: %s: %v", strategy, err)
		}
	}
	return nil
}

// kindName says in words what a parameter of type t holds.
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
