package report

import (
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
