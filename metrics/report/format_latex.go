package report

import (
	"fmt"
	"io"
	"strings"
)

// latexNames are the names of the run-level metrics in papers.
var latexNames = map[string]string{
	"acc": "ACC", "acc_sw": `ACC$_\text{sw}$`, "avg_inc_acc": "Avg.\\ inc.\\ ACC", "min_acc": "min-ACC", "wc_acc": "WC-ACC",
	"wf10": `WF$^{10}$`, "wf100": `WF$^{100}$`, "wp10": `WP$^{10}$`, "wp100": `WP$^{100}$`, "lca10": `LCA$^{10}$`,
	"aaa": "AAA", "aaa_iter": `AAA$_\text{iter}$`, "forgetting_first": "Forgetting (first)", "forgetting_max": "Forgetting (max)",
	"bwt": "BWT", "fwt": "FWT", "gap_depth_mean": "Gap depth (mean)", "gap_depth_max": "Gap depth (max)",
	"gap_time_to_trough_mean": "Time to trough (it.)", "gap_r90_mean": `$r_{90}$ (it.)`, "gap_area_mean": "Gap area",
}

var latexEscaper = strings.NewReplacer(`\`, `\textbackslash{}`, "_", `\_`, "%", `\%`, "&", `\&`, "#", `\#`, "$", `\$`, "{", `\{`, "}", `\}`, "~", `\textasciitilde{}`, "^", `\textasciicircum{}`, "∅", `$\emptyset$`)

func latexMetric(k MetricKey) string {
	name, ok := latexNames[k.Name]
	if !ok || k.K > 0 || k.J > 0 {
		name = latexEscaper.Replace(MetricKey{Variant: "live", Name: k.Name, K: k.K, J: k.J}.String())
	}
	if k.Variant != "live" {
		name = latexEscaper.Replace(k.Variant) + ": " + name
	}
	return name
}

// WriteLaTeX prints one booktabs table: a row per metric, a column per
// group, cells mean ± 95 % CI half-width (mean alone for n < 2); with
// bootstrap intervals, which are not symmetric, mean [low, high].
func (r *Report) WriteLaTeX(w io.Writer) error {
	fmt.Fprintln(w, `% cleval report: `+r.Path+`. Needs \usepackage{booktabs}.`)
	fmt.Fprintln(w, `\begin{table}[t]`)
	fmt.Fprintln(w, `\centering`)
	fmt.Fprintf(w, "\\begin{tabular}{l%s}\n", strings.Repeat("r", len(r.Groups)))
	fmt.Fprintln(w, `\toprule`)
	head := []string{"Metric"}
	for _, g := range r.Groups {
		head = append(head, latexEscaper.Replace(g.Label)+fmt.Sprintf(" ($n=%d$)", len(g.Runs)))
	}
	fmt.Fprintln(w, strings.Join(head, " & ")+` \\`)
	fmt.Fprintln(w, `\midrule`)
	// Rows in the order of the first group that has each metric.
	var keys []MetricKey
	cells := map[MetricKey]map[int]Stat{}
	for _, s := range r.Stats {
		if cells[s.MetricKey] == nil {
			cells[s.MetricKey] = map[int]Stat{}
			keys = append(keys, s.MetricKey)
		}
		cells[s.MetricKey][s.Group.ID] = s
	}
	for _, k := range keys {
		row := []string{latexMetric(k)}
		for _, g := range r.Groups {
			s, ok := cells[k][g.ID]
			switch {
			case !ok || s.N == 0:
				row = append(row, "--")
			case s.N < 2:
				row = append(row, "$"+display(s.Name, s.Mean)+"$")
			case r.CI.Bootstrap:
				row = append(row, "$"+display(s.Name, s.Mean)+"$ {\\scriptsize["+display(s.Name, s.Low)+", "+display(s.Name, s.High)+"]}")
			default:
				row = append(row, "$"+display(s.Name, s.Mean)+` \pm `+display(s.Name, s.HalfWidth())+"$")
			}
		}
		fmt.Fprintln(w, strings.Join(row, " & ")+` \\`)
	}
	fmt.Fprintln(w, `\bottomrule`)
	fmt.Fprintln(w, `\end{tabular}`)
	if r.CI.Bootstrap {
		fmt.Fprintf(w, "\\caption{Mean and 95\\%% %s bootstrap confidence interval over $n$ seeds. Accuracies in \\%%, times in iterations.}\n", r.CI.Options.Method)
	} else {
		fmt.Fprintln(w, `\caption{Mean $\pm$ 95\% confidence half-width (Student $t$) over $n$ seeds. Accuracies in \%, times in iterations.}`)
	}
	fmt.Fprintln(w, `\end{table}`)
	return nil
}
