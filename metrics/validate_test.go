package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestComputeRejects(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(in *Input)
		msg    string // part of the error message
	}{
		{"no experiences", func(in *Input) { in.NumExperiences = 0 }, "NumExperiences = 0"},
		{"unknown status", func(in *Input) { in.Status = 9 }, "unknown Status 9"},
		{"complete without all ends", func(in *Input) { in.Ends = in.Ends[:2] }, "complete run has 2 ends"},
		{"too many ends", func(in *Input) { in.Ends = []int{2, 6, 9, 12} }, "4 ends for 3 experiences"},
		{"ends not increasing", func(in *Input) { in.Ends = []int{2, 2, 9} }, "Ends[1] = 2"},
		{"first end zero", func(in *Input) { in.Ends = []int{0, 6, 9} }, "Ends[0] = 0"},
		{"duplicate (t,k)", func(in *Input) { in.Evals = append(in.Evals, in.Evals[0]) }, "duplicate record"},
		{"evaluated 0", func(in *Input) { in.Evals[3].Evaluated = 0 }, "Evaluated = 0"},
		{"evaluated > T", func(in *Input) { in.Evals[3].Evaluated = 4 }, "Evaluated = 4"},
		{"training > T", func(in *Input) { in.Evals[3].Training = 4 }, "Training = 4"},
		{"training 0", func(in *Input) { in.Evals[3].Training = 0 }, "Training = 0"},
		{"negative iteration", func(in *Input) { in.Evals[3].Iteration = -1 }, "Iteration = -1"},
		{"total 0", func(in *Input) { in.Evals[3].Total = 0 }, "Total = 0"},
		{"correct > total", func(in *Input) { in.Evals[3].Correct = 11 }, "Correct = 11"},
		{"correct < 0", func(in *Input) { in.Evals[3].Correct = -1 }, "Correct = -1"},
		{"training after its end", func(in *Input) {
			in.Evals = append(in.Evals, EvalRecord{Iteration: 3, Training: 1, Evaluated: 1, Variant: VariantLive, Correct: 1, Total: 2})
		}, "want <= e_1 = 2"},
		{"training before its start", func(in *Input) {
			in.Evals = append(in.Evals, EvalRecord{Iteration: 2, Training: 2, Evaluated: 3, Variant: VariantLive, Correct: 1, Total: 2})
		}, "want > e_1 = 2"},
		{"mixed variants", func(in *Input) { in.Evals[5].Variant = "ema0.99" }, `Variant "ema0.99"`},
		{"matrix variant", func(in *Input) { in.Matrix[0].Variant = "ema0.99" }, `Variant "ema0.99"`},
		{"row out of range", func(in *Input) { in.Matrix[0].Row = 4 }, "Row = 4"},
		{"row not ended", func(in *Input) {
			in.Status = StatusDiverged
			in.Ends = []int{2, 6}
			in.Evals = evals([]int{10, 10, 10}, mainPoints[:8])
		}, "Row = 3 but only 2 experiences ended"},
		{"col 0", func(in *Input) { in.Matrix[0].Col = 0 }, "Col = 0"},
		{"col > T", func(in *Input) { in.Matrix[0].Col = 4 }, "Col = 4"},
		{"matrix total 0", func(in *Input) { in.Matrix[0].Total = 0 }, "Total = 0"},
		{"matrix correct > total", func(in *Input) { in.Matrix[0].Correct = 101 }, "Correct = 101"},
		{"duplicate R", func(in *Input) { in.Matrix = append(in.Matrix, in.Matrix[4]) }, "duplicate entry R_{1,2}"},
		{"training beyond ended", func(in *Input) {
			in.Status = StatusDiverged
			in.Ends = []int{2}
			in.Matrix = nil
		}, "Training = 3 but only 1 experiences ended"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := mainInput()
			tc.mutate(&in)
			_, err := Compute(in)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidInput) || !strings.HasPrefix(err.Error(), "metrics: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q, want ErrInvalidInput prefixed metrics: containing %q", err, tc.msg)
			}
			if _, serr := MinACCSeries(in); serr == nil {
				t.Error("MinACCSeries accepted the same input")
			}
		})
	}
}

func TestSeriesArguments(t *testing.T) {
	in := mainInput()
	if _, err := AccSeries(in, 0); err == nil {
		t.Error("AccSeries accepted experience 0")
	}
	if _, err := AccSeries(in, 4); err == nil {
		t.Error("AccSeries accepted experience 4 of 3")
	}
	if _, err := WPSeries(in, -1); err == nil {
		t.Error("WPSeries accepted window -1")
	}
}

func TestComputeEmpty(t *testing.T) {
	// A complete run without any record: everything NULL, nothing panics.
	got, err := Compute(Input{NumExperiences: 2, Ends: []int{3, 5}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 21+1+5 {
		t.Fatalf("%d values", len(got))
	}
	for _, v := range got {
		if !v.Null {
			t.Errorf("%v, want NULL", v)
		}
	}
}

func TestNames(t *testing.T) {
	names := Names()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("duplicate name %q", n)
		}
		seen[n] = true
	}
	got, err := Compute(mainInput())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range got {
		if !seen[v.Name] {
			t.Errorf("Compute produced %q, not in Names", v.Name)
		}
	}
	if len(names) != 26 {
		t.Errorf("%d names, want 26", len(names))
	}
}

// FuzzCompute feeds arbitrary small records to Compute: it must either
// return an error or values that are finite (or NULL), never panic.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{3, 2, 6, 9, 0, 0, 1, 1, 5, 10, 3, 2, 1, 4, 10}, uint8(0))
	f.Add([]byte{1, 4, 0, 1, 1, 0, 1, 2, 1, 1, 1, 1, 1, 1}, uint8(1))
	f.Add([]byte{2, 1, 1, 0, 1, 1, 3, 1, 2, 2, 2, 2, 1}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, status uint8) {
		next := func() int {
			if len(b) == 0 {
				return 0
			}
			v := int(int8(b[0]))
			b = b[1:]
			return v
		}
		in := Input{NumExperiences: next() % 6, Status: Status(status % 4)}
		for range next() & 3 {
			in.Ends = append(in.Ends, next())
		}
		for range next() & 15 {
			in.Matrix = append(in.Matrix, MatrixRecord{Row: next(), Col: next(), Correct: next(), Total: next()})
		}
		for len(b) > 0 {
			in.Evals = append(in.Evals, EvalRecord{Iteration: next(), Training: next(), Evaluated: next(), Correct: next(), Total: next()})
		}
		vals, err := Compute(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
			return
		}
		for _, v := range vals {
			if !v.Null && (math.IsNaN(v.Value) || math.IsInf(v.Value, 0)) {
				t.Fatalf("%v not finite", v)
			}
		}
		for w := 1; w <= 3; w++ {
			if _, err := WFSeries(in, w); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestRandomGarbage runs FuzzCompute's checks on random inputs during a
// plain go test.
func TestRandomGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		run := genRun(r)
		in := run.in
		// Corrupt one field at random.
		if len(in.Evals) > 0 {
			e := &in.Evals[r.IntN(len(in.Evals))]
			switch r.IntN(5) {
			case 0:
				e.Iteration += r.IntN(5) - 2
			case 1:
				e.Training += r.IntN(3) - 1
			case 2:
				e.Evaluated += r.IntN(3) - 1
			case 3:
				e.Correct += r.IntN(3) - 1
			case 4:
				e.Total += r.IntN(3) - 1
			}
		}
		vals, err := Compute(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
			continue
		}
		for _, v := range vals {
			if !v.Null && (math.IsNaN(v.Value) || math.IsInf(v.Value, 0)) {
				t.Fatalf("%v not finite", v)
			}
		}
	}
}
