package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Formats lists the output formats of Write.
var Formats = []string{"text", "markdown", "csv", "json", "latex"}

// Write prints the report in one of Formats.
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "text", "":
		return r.WriteText(w)
	case "markdown", "md":
		return r.WriteMarkdown(w)
	case "csv":
		return r.WriteCSV(w)
	case "json":
		return r.WriteJSON(w)
	case "latex", "tex":
		return r.WriteLaTeX(w)
	}
	return fmt.Errorf("report: format %q: must be one of %s", format, strings.Join(Formats, ", "))
}

// display formats a metric for people: accuracies in % with two decimals,
// times in iterations with one; "-" when undefined.
func display(name string, v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.IsInf(v, 0):
		return fmt.Sprint(v)
	case IsTime(name):
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(100*v, 'f', 2, 64)
}

func interval(name string, lo, hi float64) string {
	if math.IsNaN(lo) {
		return "-"
	}
	return "[" + display(name, lo) + ", " + display(name, hi) + "]"
}

func pvalue(p float64) string {
	switch {
	case math.IsNaN(p):
		return "-"
	case p < 0.0001:
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func count(n, nulls int) string {
	if nulls > 0 {
		return fmt.Sprintf("%d (+%d NULL)", n, nulls)
	}
	return strconv.Itoa(n)
}

// grid prints aligned columns: the first left-aligned, the others right-
// aligned; markdown adds pipes and the alignment row.
func grid(w io.Writer, indent string, header []string, rows [][]string, markdown bool) {
	width := make([]int, len(header))
	if markdown {
		for i := range width {
			width[i] = 3 // the alignment row needs three characters
		}
	}
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if markdown {
				b.WriteString("| ")
			} else if i > 0 {
				b.WriteString("  ")
			}
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
			if markdown {
				b.WriteString(" ")
			}
		}
		if markdown {
			b.WriteString("|")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	if markdown {
		var b strings.Builder
		for i := range header {
			if i == 0 {
				b.WriteString("| :" + strings.Repeat("-", width[i]-1) + " ")
			} else {
				b.WriteString("| " + strings.Repeat("-", width[i]-1) + ": ")
			}
		}
		fmt.Fprintln(w, indent+b.String()+"|")
	}
	for _, row := range rows {
		line(row)
	}
}

// statsOf returns the group's Stats in order.
func (r *Report) statsOf(g *Group) []Stat {
	var out []Stat
	for _, s := range r.Stats {
		if s.Group == g {
			out = append(out, s)
		}
	}
	return out
}

// preamble returns the lines that introduce the tables.
func (r *Report) preamble() []string {
	runs := 0
	for _, g := range r.Groups {
		runs += len(g.Runs)
	}
	lines := []string{fmt.Sprintf("%s: %d complete runs in %d configurations", r.Path, runs, len(r.Groups))}
	if r.Reference != nil {
		lines = append(lines, fmt.Sprintf("ref_* gaps: 1 − mean over the updates of experiences 2.. of the accuracy (old, new, all seen experiences) divided by that of %s after the same experience, seed by seed", r.Reference.Name()))
	}
	if len(r.Skipped) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "skipped %d runs that are not complete:", len(r.Skipped))
		for i, s := range r.Skipped {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " run %d (seed %d) %s", s.ID, s.Seed, s.Reason)
		}
		lines = append(lines, b.String())
	}
	if len(r.Duplicates) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "ignored %d duplicate runs:", len(r.Duplicates))
		for i, s := range r.Duplicates {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " run %d (%s)", s.ID, s.Reason)
		}
		lines = append(lines, b.String())
	}
	return append(lines, "mean and sample sd over seeds; "+r.CI.Describe()+"; accuracies in %, times in iterations")
}

func (r *Report) groupHeader(g *Group) string {
	var parts []string
	if g.Ingested {
		parts = append(parts, "ingested")
	}
	if len(g.Presets) > 0 {
		parts = append(parts, "preset "+strings.Join(g.Presets, ","))
	}
	ids := make([]string, len(g.Runs))
	for i, id := range g.RunIDs() {
		ids[i] = strconv.FormatInt(id, 10)
	}
	parts = append(parts, g.Benchmark, "runs "+strings.Join(ids, ","), "seeds "+joinSeeds(g.Seeds()), "config "+g.Key)
	return g.Name() + "  (" + strings.Join(parts, "; ") + ")"
}

// section is one titled table of the text, Markdown and HTML outputs.
type section struct {
	Title  string
	Header []string
	Rows   [][]string
}

func (r *Report) sections() []section {
	var out []section
	for _, g := range r.Groups {
		sec := section{Title: r.groupHeader(g), Header: []string{"metric", "n", "mean", "sd", "95% CI"}}
		for _, s := range r.statsOf(g) {
			sec.Rows = append(sec.Rows, []string{s.MetricKey.String(), count(s.N, s.Nulls), display(s.Name, s.Mean), display(s.Name, s.SD), interval(s.Name, s.Low, s.High)})
		}
		out = append(out, sec)
	}
	for _, c := range r.Comparisons {
		head := fmt.Sprintf("compare %s − %s: paired over seeds %s", c.A.Name(), c.B.Name(), joinSeeds(c.Seeds))
		if len(c.OnlyA)+len(c.OnlyB) > 0 {
			head += fmt.Sprintf(" (unpaired, left out: %s only %s; %s only %s)", c.A.Name(), orNone(c.OnlyA), c.B.Name(), orNone(c.OnlyB))
		}
		sec := section{Title: head, Header: []string{"metric", "n", "mean diff", "sd", "95% CI", "t", "p"}}
		for _, cr := range c.Rows {
			sec.Rows = append(sec.Rows, []string{cr.MetricKey.String(), strconv.Itoa(cr.N), display(cr.Name, cr.MeanDiff), display(cr.Name, cr.SD),
				interval(cr.Name, cr.Low, cr.High), tstat(cr.T), pvalue(cr.P)})
		}
		out = append(out, sec)
	}
	if len(r.Success) > 0 {
		sec := section{Title: "success: fraction of seeds meeting each criterion, Wilson 95% interval (NULL values not counted)",
			Header: []string{"group", "criterion", "seeds", "fraction", "95% CI"}}
		for _, s := range r.Success {
			sec.Rows = append(sec.Rows, []string{s.Group.Name(), s.Criterion.Text, fmt.Sprintf("%d/%s", s.Successes, count(s.N, s.Nulls)),
				pct(s.P), "[" + pct(s.Low) + ", " + pct(s.High) + "]"})
		}
		out = append(out, sec)
	}
	return out
}

func (r *Report) writeTables(w io.Writer, md bool) {
	indent := "  "
	for i, line := range r.preamble() {
		if md {
			if i == 0 {
				line = "**cleval report** " + line
			}
			fmt.Fprintf(w, "%s\n\n", line)
		} else {
			if i == 0 {
				line = "cleval report " + line
			}
			fmt.Fprintln(w, line)
		}
	}
	if md {
		indent = ""
	}
	for i, sec := range r.sections() {
		if !md || i > 0 {
			fmt.Fprintln(w)
		}
		if md {
			fmt.Fprintf(w, "### %s\n\n", sec.Title)
		} else {
			fmt.Fprintln(w, sec.Title)
		}
		grid(w, indent, sec.Header, sec.Rows, md)
	}
}

func orNone(s []uint64) string {
	if len(s) == 0 {
		return "none"
	}
	return joinSeeds(s)
}

func tstat(t float64) string {
	if math.IsNaN(t) {
		return "-"
	}
	if math.IsInf(t, 0) {
		return fmt.Sprint(t)
	}
	return strconv.FormatFloat(t, 'f', 2, 64)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

// WriteText prints aligned plain-text tables.
func (r *Report) WriteText(w io.Writer) error {
	r.writeTables(w, false)
	return nil
}

// WriteMarkdown prints GitHub-flavoured Markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) error {
	r.writeTables(w, true)
	return nil
}

// csvHeader is the one table WriteCSV prints: kind is summary, compare or
// success; values are in the metric's unit (fractions, iterations).
var csvHeader = []string{"kind", "group", "label", "config_group", "vs_group", "variant", "metric", "k", "j", "unit",
	"n", "nulls", "mean", "sd", "ci_low", "ci_high", "t", "p", "criterion", "successes", "ci"}

func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteCSV prints one tidy table with a row per metric and group (kind
// summary), per metric and compared pair (kind compare: mean is the mean
// difference A - B) and per criterion and group (kind success: mean is the
// fraction, ci_* its Wilson interval). Undefined values are empty. The last
// column, ci, names the interval: t, bca, percentile or wilson.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, s := range r.Stats {
		cw.Write([]string{"summary", strconv.Itoa(s.Group.ID), s.Group.Label, s.Group.Key, "", s.Variant, s.Name,
			strconv.Itoa(s.K), strconv.Itoa(s.J), Unit(s.Name), strconv.Itoa(s.N), strconv.Itoa(s.Nulls),
			num(s.Mean), num(s.SD), num(s.Low), num(s.High), "", "", "", "", r.CI.String()})
	}
	for _, c := range r.Comparisons {
		for _, cr := range c.Rows {
			cw.Write([]string{"compare", strconv.Itoa(c.A.ID), c.A.Label, c.A.Key, strconv.Itoa(c.B.ID), cr.Variant, cr.Name,
				strconv.Itoa(cr.K), strconv.Itoa(cr.J), Unit(cr.Name), strconv.Itoa(cr.N), "",
				num(cr.MeanDiff), num(cr.SD), num(cr.Low), num(cr.High), num(cr.T), num(cr.P), "", "", r.CI.String()})
		}
	}
	for _, s := range r.Success {
		cw.Write([]string{"success", strconv.Itoa(s.Group.ID), s.Group.Label, s.Group.Key, "", s.Criterion.Variant, s.Criterion.Name,
			strconv.Itoa(s.Criterion.K), strconv.Itoa(s.Criterion.J), "fraction", strconv.Itoa(s.N), strconv.Itoa(s.Nulls),
			num(s.P), "", num(s.Low), num(s.High), "", "", s.Criterion.Text, strconv.Itoa(s.Successes), "wilson"})
	}
	cw.Flush()
	return cw.Error()
}

// jnum is a float64 that marshals NaN as null.
type jnum float64

func (v jnum) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if math.IsInf(f, 1) {
			return []byte(`"+Inf"`), nil
		}
		if math.IsInf(f, -1) {
			return []byte(`"-Inf"`), nil
		}
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// WriteJSON prints the report as one JSON object; values are in the
// metric's unit and undefined values are null.
func (r *Report) WriteJSON(w io.Writer) error {
	type jgroup struct {
		ID        int             `json:"id"`
		Label     string          `json:"label"`
		Key       string          `json:"config_group"`
		Strategy  string          `json:"strategy"`
		Benchmark string          `json:"benchmark"`
		Presets   []string        `json:"presets"`
		Runs      []int64         `json:"runs"`
		Seeds     []uint64        `json:"seeds"`
		Variants  []string        `json:"variants"`
		Config    json.RawMessage `json:"config"`
	}
	type jstat struct {
		Group   int    `json:"group"`
		Variant string `json:"variant"`
		Metric  string `json:"metric"`
		K       int    `json:"k"`
		J       int    `json:"j"`
		Unit    string `json:"unit"`
		N       int    `json:"n"`
		Nulls   int    `json:"nulls"`
		Mean    jnum   `json:"mean"`
		SD      jnum   `json:"sd"`
		Low     jnum   `json:"ci_low"`
		High    jnum   `json:"ci_high"`
	}
	type jrow struct {
		Variant  string `json:"variant"`
		Metric   string `json:"metric"`
		K        int    `json:"k"`
		J        int    `json:"j"`
		Unit     string `json:"unit"`
		N        int    `json:"n"`
		MeanDiff jnum   `json:"mean_diff"`
		SD       jnum   `json:"sd"`
		Low      jnum   `json:"ci_low"`
		High     jnum   `json:"ci_high"`
		T        jnum   `json:"t"`
		P        jnum   `json:"p"`
	}
	type jcomp struct {
		A     int      `json:"a"`
		B     int      `json:"b"`
		Seeds []uint64 `json:"seeds"`
		OnlyA []uint64 `json:"only_a"`
		OnlyB []uint64 `json:"only_b"`
		Rows  []jrow   `json:"rows"`
	}
	type jsucc struct {
		Group     int    `json:"group"`
		Criterion string `json:"criterion"`
		Successes int    `json:"successes"`
		N         int    `json:"n"`
		Nulls     int    `json:"nulls"`
		Fraction  jnum   `json:"fraction"`
		Low       jnum   `json:"ci_low"`
		High      jnum   `json:"ci_high"`
	}
	out := struct {
		DB          string    `json:"db"`
		CI          string    `json:"ci"`
		Groups      []jgroup  `json:"groups"`
		Skipped     []Skipped `json:"skipped"`
		Duplicates  []Skipped `json:"duplicates"`
		Stats       []jstat   `json:"stats"`
		Comparisons []jcomp   `json:"comparisons"`
		Success     []jsucc   `json:"success"`
	}{DB: r.Path, CI: r.CI.String(), Groups: []jgroup{}, Skipped: r.Skipped, Duplicates: r.Duplicates, Stats: []jstat{}, Comparisons: []jcomp{}, Success: []jsucc{}}
	if out.Skipped == nil {
		out.Skipped = []Skipped{}
	}
	if out.Duplicates == nil {
		out.Duplicates = []Skipped{}
	}
	for _, g := range r.Groups {
		out.Groups = append(out.Groups, jgroup{g.ID, g.Label, g.Key, g.Strategy, g.Benchmark, nonNil(g.Presets), g.RunIDs(), g.Seeds(), g.Variants, g.Config})
	}
	for _, s := range r.Stats {
		out.Stats = append(out.Stats, jstat{s.Group.ID, s.Variant, s.Name, s.K, s.J, Unit(s.Name), s.N, s.Nulls, jnum(s.Mean), jnum(s.SD), jnum(s.Low), jnum(s.High)})
	}
	for _, c := range r.Comparisons {
		jc := jcomp{A: c.A.ID, B: c.B.ID, Seeds: c.Seeds, OnlyA: nonNil(c.OnlyA), OnlyB: nonNil(c.OnlyB), Rows: []jrow{}}
		for _, cr := range c.Rows {
			jc.Rows = append(jc.Rows, jrow{cr.Variant, cr.Name, cr.K, cr.J, Unit(cr.Name), cr.N, jnum(cr.MeanDiff), jnum(cr.SD), jnum(cr.Low), jnum(cr.High), jnum(cr.T), jnum(cr.P)})
		}
		out.Comparisons = append(out.Comparisons, jc)
	}
	for _, s := range r.Success {
		out.Success = append(out.Success, jsucc{s.Group.ID, s.Criterion.Text, s.Successes, s.N, s.Nulls, jnum(s.P), jnum(s.Low), jnum(s.High)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

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
