package nn

import "testing"

// TestCheckMatchesTheBuiltModel: Check counts the arenas of the model New
// builds, and refuses what New refuses, with the same message.
func TestCheckMatchesTheBuiltModel(t *testing.T) {
	for _, spec := range []Spec{
		{Arch: "mlp", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, Hidden: []int{400, 400}},
		{Arch: "mlp", Input: Flat(7), Classes: 3},
		{Arch: "cnn", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10},
		{Arch: "cnn", Input: Shape{C: 3, H: 5, W: 9}, Classes: 4},
		{Arch: "resnet18r", Input: Shape{C: 3, H: 32, W: 32}, Classes: 10},
		{Arch: "resnet18r", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: 4},
		{Arch: "resnet18r", Input: Shape{C: 1, H: 64, W: 40}, Classes: 7, NF: 3},
		{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10},
		{Arch: "resnet18r-sta", Input: Shape{C: 3, H: 9, W: 13}, Classes: 5, NF: 6},
		{Arch: "resnet18r-pla", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10},
		{Arch: "resnet18r-pla", Input: Shape{C: 3, H: 5, W: 40}, Classes: 5, NF: 6},
	} {
		f, err := Check(spec)
		if err != nil {
			t.Fatalf("%+v: %v", spec, err)
		}
		m, err := New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Params != int64(len(m.Params())) || f.State != int64(len(m.State())) {
			t.Errorf("%s %v: Check counts %d parameters and %d state values, the model has %d and %d",
				spec.Arch, spec.Input, f.Params, f.State, len(m.Params()), len(m.State()))
		}
		if f.RowValues <= 0 {
			t.Errorf("%s: no workspace estimate", spec.Arch)
		}
	}
	for _, spec := range []Spec{
		{Arch: "resnet18r", Input: Shape{C: 1, H: 4, W: 4}, Classes: 10},
		{Arch: "resnet18r", Input: Shape{C: 3, H: 24, W: 32}, Classes: 10},
		{Arch: "resnet18r-pla", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, NF: 1},
		{Arch: "resnet18r-sta", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10, Hidden: []int{3}},
		{Arch: "mlp", Input: Flat(4), Classes: 2, NF: 3},
		{Arch: "cnn", Input: Flat(4), Classes: 2, Hidden: []int{3}},
		{Arch: "nope", Input: Flat(4), Classes: 2},
	} {
		_, errC := Check(spec)
		_, errN := New(spec, nil)
		if errC == nil || errN == nil || errC.Error() != errN.Error() {
			t.Errorf("%+v: Check %v, New %v: want the same refusal", spec, errC, errN)
		}
	}
	// Sizes past memory are counted, not allocated.
	f, err := Check(Spec{Arch: "resnet18r", Input: Shape{C: 3, H: 32, W: 32}, Classes: 10, NF: 4096})
	if err != nil || f.Params < 1e10 {
		t.Errorf("huge resnet18r: %v parameters, %v", f.Params, err)
	}
}
