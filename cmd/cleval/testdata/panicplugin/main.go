// Command panicplugin is a Go plugin for the tests of cleval: its strategy
// "panics-in-step" panics in its third update.
package main

import (
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// APIVersion is the strategy API the plugin was built against.
var APIVersion = strategies.APIVersion

type panics struct {
	strategies.Base
	steps int
}

func (p *panics) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	p.steps++
	if p.steps == 3 {
		var m map[string]int
		m["boom"]++ // a nil map: the kind of bug a plugin has
	}
	return strategies.StepResult{Loss: 1}, nil
}

func init() {
	strategies.Register(strategies.Def[struct{}]{
		Name:    "panics-in-step",
		Summary: "test plugin: panics in its third update",
		New:     func(*struct{}) (strategies.Strategy, error) { return &panics{}, nil },
	})
}

func main() {}
