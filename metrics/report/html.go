package report

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"

	"github.com/cleval/cleval/internal/version"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/plot"
	"github.com/cleval/cleval/metrics/store"
)

func isNoData(err error) bool { return errors.Is(err, plot.ErrNoData) }

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cleval {{.Version}}">
<title>cleval report: {{.DB}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", "Liberation Sans", Arial, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
p.note { color: #555; font-size: .92rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .9rem; font-variant-numeric: tabular-nums; }
th, td { padding: .2rem .7rem; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th { border-bottom: 2px solid #bbb; } th:first-child, td:first-child { text-align: left; }
figure { margin: 1.2rem 0 2rem; } figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: .9rem; margin-top: .3rem; }
nav a { margin-right: 1rem; }
</style>
</head>
<body>
<h1>cleval report</h1>
{{range .Preamble}}<p class="note">{{.}}</p>
{{end}}
<nav>{{if .Figures}}<a href="#figures">figures</a>{{end}}<a href="#tables">tables</a></nav>
<h2 id="tables">Tables</h2>
{{range .Sections}}<h3>{{.Title}}</h3>
<table>
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}
{{if .Figures}}<h2 id="figures">Figures</h2>
{{range .Figures}}<figure id="{{.Name}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}{{end}}
</body>
</html>
`))

// WriteHTML writes one self-contained HTML page: the tables of the report
// and every figure of Figures (live variant) as inline SVG. It reads the
// records for the figures from db.
func (r *Report) WriteHTML(ctx context.Context, w io.Writer, db *store.DB) error {
	figs, err := r.Figures(ctx, db, nil, metrics.VariantLive, 0, plot.Options{})
	if err != nil {
		return err
	}
	type fig struct {
		Name, Caption string
		SVG           template.HTML
	}
	data := struct {
		Version, DB string
		Preamble    []string
		Sections    []section
		Figures     []fig
	}{Version: version.Version, DB: r.Path, Preamble: r.preamble(), Sections: r.sections()}
	for _, f := range figs {
		svg, err := f.SVG()
		if err != nil {
			return err
		}
		// Inline SVG needs no XML prolog.
		if i := bytes.Index(svg, []byte("<svg")); i > 0 {
			svg = svg[i:]
		}
		data.Figures = append(data.Figures, fig{Name: f.Name, Caption: f.Caption, SVG: template.HTML(svg)})
	}
	return page.Execute(w, data)
}
