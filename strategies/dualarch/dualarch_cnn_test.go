package dualarch

import (
	"strings"
	"testing"

	"github.com/cleval/cleval/nn"
	_ "github.com/cleval/cleval/strategies/project"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// staOpts is a 6-class stream of 1×8×8 images and a narrow Sta-Net as
// the stable learner.
var staOpts = strategytest.Options{Arch: StaNet, NF: 3, Dim: 64}

// TestPropertiesCNN runs the strategy kit on Dual-Arch with the Sta-Net
// as the stable learner and the Pla-Net as the plastic one (batch
// normalisation in both), with each schedule and a plastic memory.
func TestPropertiesCNN(t *testing.T) {
	for _, c := range []struct {
		name, params string
		scen         streams.Scenario
	}{
		{"er", `{` + erBase + `}`, ""},
		{"er-memory-interleaved", `{` + erBase + `,"plastic_memory":40,"plastic_schedule":"interleaved"}`, ""},
		{"er-task", `{` + erBase + `}`, streams.TaskIncremental},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := staOpts
			o.Scenario = c.scen
			strategytest.Check(t, "dualarch", c.params, o)
		})
	}
}

// TestPlaNetLearner: with the Sta-Net as the stable learner the plastic
// learner is the Pla-Net paired with it (the stable learner's width,
// about its parameter count), evaluated as the variant "plastic" of that
// architecture, and its distillation reaches the stable learner (which
// trains otherwise with weight 0, the plastic learner's training and
// draws being the same).
func TestPlaNetLearner(t *testing.T) {
	s := strategytest.Stream(staOpts)
	ctx := strategytest.Context(s, staOpts)
	st := strategytest.New(t, "dualarch", `{`+erBase+`}`).(*DualArch)
	d := strategytest.NewDriver(t, ctx, st)
	d.Experience(t, 1, 1)
	sp := st.Variants()[0].Spec
	want := nn.Spec{Arch: PlaNet, Input: ctx.Model.Spec().Input, Classes: s.NumClasses, NF: 3}
	if sp == nil || sp.Arch != want.Arch || sp.NF != want.NF || sp.Input != want.Input || sp.Classes != want.Classes {
		t.Fatalf("plastic learner %+v, want %+v", sp, want)
	}
	pl := st.Plastic()
	w, err := nn.PlaNetWidth(3, 1, s.NumClasses)
	if err != nil {
		t.Fatal(err)
	}
	stable := len(ctx.Model.Params())
	if got := len(pl.Params()); got > stable {
		t.Errorf("plastic learner of %d parameters (width %d), more than the stable learner's %d", got, w, stable)
	}
	if len(pl.State()) == 0 || len(st.Variants()[0].State) != len(pl.State()) {
		t.Error("the plastic learner's batch-norm statistics are not in its variant")
	}
	train := func(params string) []float32 {
		ctx := strategytest.Context(s, staOpts)
		d := strategytest.NewDriver(t, ctx, strategytest.New(t, params[:strings.Index(params, "|")], params[strings.Index(params, "|")+1:]))
		d.Experience(t, 1, 1)
		d.Experience(t, 2, 1)
		return ctx.Model.Params()
	}
	w0 := train(`dualarch|{` + erBase + `,"weight":0}`)
	kd := train(`dualarch|{` + erBase + `}`)
	same := true
	for i := range w0 {
		same = same && w0[i] == kd[i]
	}
	if same {
		t.Error("the distillation changed nothing")
	}
}

// TestCheckModel: the stable learner is an mlp or the Sta-Net; with the
// whole spec the plastic learner must exist (a derived width within the
// budget, a Pla-Net); the wrapped strategy's checks are forwarded.
func TestCheckModel(t *testing.T) {
	img := nn.Shape{C: 1, H: 28, W: 28}
	for _, tc := range []struct {
		params string
		spec   nn.Spec
		want   string
	}{
		{`{}`, nn.Spec{Arch: "resnet18r"}, "model resnet18r has no such pair here: use model resnet18r-sta"},
		{`{}`, nn.Spec{Arch: "cnn", Input: img, Classes: 10}, "model cnn has no such pair"},
		{`{"plastic_hidden":[8,8]}`, nn.Spec{Arch: StaNet}, "plastic_hidden [8 8] sizes an MLP plastic learner"},
		{`{}`, nn.Spec{Arch: StaNet, Input: img, Classes: 10, NF: 1}, "dualarch: plastic learner: model resnet18r-pla: no width fits"},
		{`{}`, nn.Spec{Arch: "mlp", Input: img, Classes: 10, Hidden: []int{1}}, "no plastic learner of 4 hidden layers fits the stable learner's 805 parameters"},
		{`{"base":"owm"}`, nn.Spec{Arch: StaNet}, "owm"},
		{`{}`, nn.Spec{Arch: "mlp", Hidden: []int{1}}, ""},
		{`{}`, nn.Spec{Arch: "mlp", Input: img, Classes: 10, Hidden: []int{300}}, ""},
		{`{"plastic_hidden":[3]}`, nn.Spec{Arch: "mlp", Input: img, Classes: 10, Hidden: []int{1}}, ""},
		{`{}`, nn.Spec{Arch: StaNet}, ""},
		{`{}`, nn.Spec{Arch: StaNet, Input: img, Classes: 10}, ""},
		{`{}`, nn.Spec{Arch: StaNet, Input: nn.Shape{C: 3, H: 5, W: 5}, Classes: 100, NF: 2}, ""},
	} {
		err := strategytest.New(t, "dualarch", tc.params).(*DualArch).CheckModel(tc.spec)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s on %+v: %v", tc.params, tc.spec, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s on %+v: error %v, want one containing %q", tc.params, tc.spec, err, tc.want)
		}
	}
}
