// Package mask implements softmax masking (Kim, Kwon & Kim 2023,
// "Revisiting softmax masking: stop gradient for enhancing stability in
// replay-based continual learning") as the wrapper strategy "mask".
//
// On the current experience's new data (the New segments of the wrapped
// strategy's update), the logits of the classes that are not classes of
// the current experience (nor present in the incoming batch, which only
// matters in streams with blurry boundaries) are replaced by the mask value m and their
// gradient is stopped: they receive exactly zero gradient, so learning the
// new classes does not push the old classes' logits down. m = −∞ is the
// classic masking (the non-current classes leave the softmax); a finite m
// is the paper's general masked softmax, where the masked classes keep a
// constant share of the softmax denominator, exp(m), which scales the
// gradient of the current classes. Replayed data (non-New segments) is not
// masked. Evaluation is never masked.
//
// The wrapped strategy (any strategy that updates through
// strategies.WeightedStep: naive, er, ...) is given by base and
// base_params: {"base": "er", "base_params": {...}, "value": "-inf"}. In a
// task-incremental stream the task mask of the new data is replaced by the
// masking: with m = −∞ the two coincide (the current classes are the
// task's); with a finite m the other tasks' classes get the logit m
// instead of −∞. Replayed samples keep their own task's mask.
package mask

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Value is a mask value: a finite number or −∞, written in JSON as a
// number or as the string "-inf".
type Value float64

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(v), -1) {
		return []byte(`"-inf"`), nil
	}
	return json.Marshal(float64(v))
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "-inf", "-infinity":
			*v = Value(math.Inf(-1))
			return nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("mask value %q: want a number or \"-inf\"", s)
		}
		*v = Value(f)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("mask value %s: want a number or \"-inf\"", b)
	}
	*v = Value(f)
	return nil
}

// Config holds the parameters of mask.
type Config struct {
	strategies.BaseConfig
	// Value is the mask value m: −∞ (default) or a finite number.
	Value Value `json:"value" doc:"mask value m: \"-inf\" (classic masking) or a finite number (general masked softmax)"`
}

// Validate implements strategies.Validator.
func (c *Config) Validate() error {
	v := float64(c.Value)
	if math.IsNaN(v) || math.IsInf(v, 1) {
		return fmt.Errorf("value %v: must be a finite number or -inf", v)
	}
	return nil
}

// Mask is the softmax-masking wrapper.
type Mask struct {
	strategies.Wrapper
	cfg  Config
	keep []bool // classes of the current experience
}

var (
	_ strategies.Strategy    = (*Mask)(nil)
	_ strategies.SegmentHook = (*Mask)(nil)
)

func init() {
	strategies.Register(strategies.Def[Config]{
		Name:     "mask",
		Summary:  "softmax masking (Kim et al. 2023): on new data, non-current classes get logit m and no gradient; wraps any strategy",
		Defaults: Config{BaseConfig: strategies.WrapDefaults(), Value: Value(math.Inf(-1))},
		New: func(cfg *Config) (strategies.Strategy, error) {
			w, err := strategies.NewWrapper("mask", &cfg.BaseConfig)
			if err != nil {
				return nil, err
			}
			return &Mask{Wrapper: w, cfg: *cfg}, nil
		},
	})
}

// Setup implements strategies.Strategy.
func (s *Mask) Setup(ctx *strategies.Context) error {
	s.keep = make([]bool, ctx.Stream.NumClasses)
	return s.Init(ctx, s)
}

// Step implements strategies.Strategy: the kept classes are the current
// experience's and those of the incoming batch.
func (s *Mask) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	clear(s.keep)
	for _, c := range ctx.Current.Classes {
		s.keep[c] = true
	}
	for _, y := range b.Y[:b.N] {
		s.keep[y] = true
	}
	return s.Wrapper.Step(ctx, b)
}

// HookSegment implements strategies.SegmentHook: New segments get the
// masked softmax.
func (s *Mask) HookSegment(_ *strategies.Context, seg *strategies.Segment) {
	if !seg.New {
		return
	}
	seg.Mask, seg.Masks = nil, nil
	seg.Keep, seg.MaskValue = s.keep, float64(s.cfg.Value)
}
