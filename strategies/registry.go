package strategies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// ParamDoc documents one parameter of a strategy.
type ParamDoc struct {
	Name    string
	Default string
	Doc     string
}

// Info describes a registered strategy.
type Info struct {
	Name    string
	Summary string
	Params  []ParamDoc
	// New builds the strategy from a JSON object of parameters; nil or
	// empty means all defaults. Unknown or invalid parameters are errors.
	New func(params json.RawMessage) (Strategy, error)
}

var (
	regMu    sync.RWMutex
	registry = map[string]Info{}
)

// ErrUnknown is returned (wrapped) by Lookup and New for names that are not
// registered.
var ErrUnknown = errors.New("unknown strategy")

// Register makes a strategy available by name. It panics if the name is
// empty or taken, or New is nil: both are programming errors.
func Register(info Info) {
	if info.Name == "" || info.New == nil {
		panic("strategies: Register needs a name and a constructor")
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[info.Name]; dup {
		panic("strategies: strategy " + info.Name + " registered twice")
	}
	registry[info.Name] = info
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
	slices.SortFunc(out, func(a, b Info) int { return cmpString(a.Name, b.Name) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// New builds the strategy registered as name with the given parameters.
func New(name string, params json.RawMessage) (Strategy, error) {
	info, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return info.New(params)
}

// Validator is implemented by parameter structs that check their values.
type Validator interface {
	Validate() error
}

// DecodeParams overlays the JSON object raw on dst (a pointer to a struct
// already holding the defaults), rejects unknown fields, and validates the
// result when dst implements Validator. Errors name the strategy.
func DecodeParams(strategy string, raw json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(dst); err != nil {
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
