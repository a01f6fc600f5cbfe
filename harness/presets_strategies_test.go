package harness

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestStrategyPresetsValidate checks that the strategy presets resolve, and
// that online-ema is online-er wrapped in an EMA and nothing else.
func TestStrategyPresetsValidate(t *testing.T) {
	for _, name := range []string{"delange-smnist-gem", "hess-er-agem", "online-ema"} {
		p, err := LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Config.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	er, err := LookupPreset("online-er")
	if err != nil {
		t.Skip("no online-er preset")
	}
	ema, _ := LookupPreset("online-ema")
	var params struct {
		Base       string          `json:"base"`
		BaseParams json.RawMessage `json:"base_params"`
	}
	if err := json.Unmarshal(ema.Config.StrategyParams, &params); err != nil {
		t.Fatal(err)
	}
	if params.Base != er.Config.Strategy || string(params.BaseParams) != string(er.Config.StrategyParams) {
		t.Errorf("online-ema wraps %s %s, online-er is %s %s", params.Base, params.BaseParams, er.Config.Strategy, er.Config.StrategyParams)
	}
	a, b := er.Config, ema.Config
	a.Preset, b.Preset = "", ""
	a.Strategy, b.Strategy = "", ""
	a.StrategyParams, b.StrategyParams = nil, nil
	if !reflect.DeepEqual(a, b) {
		t.Errorf("online-ema differs from online-er beyond the strategy:\n%s\n%s", a.JSON(), b.JSON())
	}
	if !reflect.DeepEqual(er.Seeds, ema.Seeds) {
		t.Errorf("seeds %v vs %v", er.Seeds, ema.Seeds)
	}
}
