package metrics_test

import (
	"fmt"

	"github.com/cleval/cleval/metrics"
)

func ExampleCompute() {
	// Two experiences of two updates each, evaluated at every iteration on
	// subsets of 4 samples; experience 1 dips when experience 2 starts.
	rec := func(t, training, evaluated, correct int) metrics.EvalRecord {
		return metrics.EvalRecord{Iteration: t, Training: training, Evaluated: evaluated,
			Variant: metrics.VariantLive, Correct: correct, Total: 4}
	}
	evals := []metrics.EvalRecord{
		rec(0, 1, 1, 1),
		rec(1, 1, 1, 3),
		rec(2, 1, 1, 4), rec(2, 1, 2, 0), // e_1 = 2, and experience 2 before training
		rec(3, 2, 1, 2), rec(3, 2, 2, 3),
		rec(4, 2, 1, 3), rec(4, 2, 2, 4), // e_2 = 4
	}
	in := metrics.Input{
		NumExperiences: 2,
		Ends:           metrics.EndsFromRecords(evals, 2),
		Evals:          evals,
		Matrix: []metrics.MatrixRecord{
			{Row: 0, Col: 1, Variant: metrics.VariantLive, Correct: 10, Total: 100},
			{Row: 0, Col: 2, Variant: metrics.VariantLive, Correct: 12, Total: 100},
			{Row: 1, Col: 1, Variant: metrics.VariantLive, Correct: 95, Total: 100},
			{Row: 1, Col: 2, Variant: metrics.VariantLive, Correct: 5, Total: 100},
			{Row: 2, Col: 1, Variant: metrics.VariantLive, Correct: 70, Total: 100},
			{Row: 2, Col: 2, Variant: metrics.VariantLive, Correct: 90, Total: 100},
		},
	}
	vals, err := metrics.Compute(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range vals {
		name := v.Name
		if v.K != 0 {
			name = fmt.Sprintf("%s[k=%d]", name, v.K)
		}
		if v.J != 0 {
			name = fmt.Sprintf("%s[k=%d,j=%d]", v.Name, v.K, v.J)
		}
		if v.Null {
			fmt.Printf("%-24s NULL\n", name)
			continue
		}
		fmt.Printf("%-24s %.4f\n", name, v.Value)
	}
	// Output:
	// min_acc                  0.5000
	// wc_acc                   0.7500
	// wf10                     0.2500
	// wf100                    0.2500
	// wp10                     0.5000
	// wp100                    0.5000
	// lca10                    NULL
	// aaa                      0.7000
	// aaa_iter                 0.7000
	// acc                      0.8000
	// acc_sw                   0.8000
	// avg_inc_acc              0.8750
	// forgetting_first         0.2500
	// forgetting_max           0.2500
	// bwt                      -0.2500
	// fwt                      -0.0700
	// gap_depth_mean           0.5000
	// gap_depth_max            0.5000
	// gap_time_to_trough_mean  1.0000
	// gap_r90_mean             2.0000
	// gap_area_mean            0.3750
	// min_acc[k=1]             0.5000
	// gap_depth[k=1,j=2]       0.5000
	// gap_time_to_trough[k=1,j=2] 1.0000
	// gap_recovery[k=1,j=2]    0.5000
	// gap_r90[k=1,j=2]         2.0000
	// gap_area[k=1,j=2]        0.3750
}

func ExampleMinACCSeries() {
	rec := func(t, training, evaluated, correct int) metrics.EvalRecord {
		return metrics.EvalRecord{Iteration: t, Training: training, Evaluated: evaluated, Correct: correct, Total: 4}
	}
	in := metrics.Input{
		NumExperiences: 2,
		Ends:           []int{1, 3},
		Evals: []metrics.EvalRecord{
			rec(0, 1, 1, 0), rec(1, 1, 1, 4),
			rec(2, 2, 1, 1), rec(2, 2, 2, 2),
			rec(3, 2, 1, 3), rec(3, 2, 2, 4),
		},
	}
	pts, err := metrics.MinACCSeries(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pts {
		if p.Null {
			fmt.Printf("t=%d NULL\n", p.T)
		} else {
			fmt.Printf("t=%d %.2f\n", p.T, p.Value)
		}
	}
	// Output:
	// t=0 NULL
	// t=1 NULL
	// t=2 0.25
	// t=3 0.25
}
