package main

import (
	"encoding/json"
	"testing"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/project"
	"github.com/cleval/cleval/strategies/strategytest"
)

// TestProperties runs the strategy kit's property checks on l2-anchor, as
// any plugin author can on their own strategy.
func TestProperties(t *testing.T) {
	strategytest.Check(t, "l2-anchor", `{"strength":0.5}`, strategytest.Options{})
	strategytest.CheckRejects(t, "l2-anchor", `{"strength":-1}`, `{"strength":"x"}`, `{"strenght":1}`)
}

// TestAGEMProjectsThePlugin wraps l2-anchor in agem and checks that A-GEM's
// projection ran on the plugin's updates: the plugin's own penalty goes
// through the hook path, so the wrapper sees (and projects) the whole
// gradient.
func TestAGEMProjectsThePlugin(t *testing.T) {
	o := strategytest.Options{Experiences: 3, Classes: 6}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	r, err := strategies.Resolve("agem", json.RawMessage(`{"base":"l2-anchor","base_params":{"strength":0.5},"memory_per_exp":40}`))
	if err != nil {
		t.Fatal(err)
	}
	d := strategytest.NewDriver(t, ctx, r.Strategy)
	for k := 1; k <= 3; k++ {
		d.Experience(t, k, 2)
	}
	a := r.Strategy.(*project.AGEM)
	if a.Projections == 0 {
		t.Fatal("agem(l2-anchor) never projected an update")
	}
	t.Logf("%d of %d updates projected", a.Projections, len(d.Losses))
}
