package harness

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cleval/cleval/strategies/dualarch"
)

// TestMethodPresets: the method presets resolve; sgm-smnist-er and
// dualarch-smnist-er are the delange-smnist-er setup with the method
// wrapped around its replay (and, for Dual-Arch, the stable learner's
// network); the Dual-Arch pair has about equal parameter counts and
// together about those of the 400-400 MLP; the PCR presets differ only in
// their benchmark.
func TestMethodPresets(t *testing.T) {
	for _, name := range []string{"sgm-smnist-er", "pcr-online-smnist", "pcr-online-sfmnist", "dualarch-smnist-er"} {
		p, err := LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Config.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	er, _ := LookupPreset("delange-smnist-er")
	for _, name := range []string{"sgm-smnist-er", "dualarch-smnist-er"} {
		p, _ := LookupPreset(name)
		var params struct {
			Base       string          `json:"base"`
			BaseParams json.RawMessage `json:"base_params"`
		}
		if err := json.Unmarshal(p.Config.StrategyParams, &params); err != nil {
			t.Fatal(err)
		}
		if params.Base != "er" || string(params.BaseParams) != string(er.Config.StrategyParams) {
			t.Errorf("%s wraps %s %s, delange-smnist-er is er %s", name, params.Base, params.BaseParams, er.Config.StrategyParams)
		}
		a, b := er.Config, p.Config
		a.Preset, b.Preset = "", ""
		a.Strategy, b.Strategy = "", ""
		a.StrategyParams, b.StrategyParams = nil, nil
		if name == "dualarch-smnist-er" {
			b.Hidden = a.Hidden
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s differs from delange-smnist-er beyond the strategy:\n%s\n%s", name, a.JSON(), b.JSON())
		}
	}
	da, _ := LookupPreset("dualarch-smnist-er")
	stable := dualarch.MLPParams([]int{784, da.Config.Hidden[0], 10})
	w, ok := dualarch.PlasticWidth(784, 10, 4, stable)
	plastic := dualarch.MLPParams([]int{784, w, w, w, w, 10})
	single := dualarch.MLPParams([]int{784, 400, 400, 10})
	if !ok || stable != 238510 || plastic != 237106 || single != 478410 {
		t.Errorf("stable %d, plastic %d (width %d), 400-400 %d", stable, plastic, w, single)
	}
	a, _ := LookupPreset("pcr-online-smnist")
	b, _ := LookupPreset("pcr-online-sfmnist")
	a.Config.Preset, b.Config.Preset = "", ""
	b.Config.Benchmark = a.Config.Benchmark
	if !reflect.DeepEqual(a.Config, b.Config) {
		t.Errorf("pcr-online-sfmnist differs beyond the benchmark:\n%s\n%s", a.Config.JSON(), b.Config.JSON())
	}
}
