package dashboard

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/cleval/cleval/metrics/export"
	"github.com/cleval/cleval/metrics/report"
	"github.com/cleval/cleval/metrics/store"
)

// The links of the page: the Parquet or Arrow export and the HTML report of
// the runs on screen, made on request. Nothing in a request names a file:
// the export is written into a new temporary directory of the server,
// sent as one zip archive and removed.

// selection reads runs= (ids and ranges, required).
func selection(p params) (store.RunFilter, error) {
	ids, err := p.ids("runs")
	if err != nil {
		return store.RunFilter{}, err
	}
	if len(ids) == 0 {
		return store.RunFilter{}, badParam("missing parameter runs (run ids, e.g. runs=1,2,5-9)")
	}
	return store.RunFilter{IDs: ids}, nil
}

func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	if err := s.exportZip(w, r); err != nil {
		s.fail(w, r, err)
	}
}

func (s *Server) exportZip(w http.ResponseWriter, r *http.Request) error {
	p, err := newParams(r, "runs", "format")
	if err != nil {
		return err
	}
	f, err := selection(p)
	if err != nil {
		return err
	}
	format := export.Format(p.q.Get("format"))
	if format == "" {
		format = export.FormatParquet
	}
	if format != export.FormatParquet && format != export.FormatArrow {
		return badParam("format=%q: must be parquet or arrow", format)
	}
	dir, err := os.MkdirTemp("", "cleval-serve-export-")
	if err != nil {
		return fmt.Errorf("dashboard: export: %w", err)
	}
	defer os.RemoveAll(dir)
	files, err := export.Export(r.Context(), s.db, dir, export.Options{Format: format, Filter: f})
	if err != nil {
		if errors.Is(err, export.ErrNoRuns) {
			return badParam("%v", err)
		}
		return err
	}
	// The archive is built in memory first, so that a failure is an error
	// answer rather than a cut download.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, file := range files {
		// Parquet is compressed already; Arrow files are stored as they are too.
		hw, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.Base(file.Path), Method: zip.Store})
		if err != nil {
			return err
		}
		in, err := os.Open(file.Path)
		if err != nil {
			return err
		}
		_, err = io.Copy(hw, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	name := fmt.Sprintf("cleval-%s-runs-%s.zip", format, strings.ReplaceAll(p.q.Get("runs"), ",", "_"))
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	if err := s.reportHTML(w, r); err != nil {
		s.fail(w, r, err)
	}
}

func (s *Server) reportHTML(w http.ResponseWriter, r *http.Request) error {
	p, err := newParams(r, "runs", "a", "b")
	if err != nil {
		return err
	}
	f, err := selection(p)
	if err != nil {
		return err
	}
	set, err := report.Load(r.Context(), s.db, f)
	if err != nil {
		return err
	}
	if len(set.Groups) == 0 {
		return badParam("none of these runs is complete: the report aggregates complete runs only")
	}
	var opt report.Options
	a, b := p.q.Get("a"), p.q.Get("b")
	if (a == "") != (b == "") {
		return badParam("a paired comparison needs both a= and b=")
	}
	if a != "" {
		opt.Compare = [][2]string{{a, b}}
	}
	rep, err := report.Build(set, opt)
	if err != nil {
		return badParam("%v", err)
	}
	var buf bytes.Buffer
	if err := rep.WriteHTML(r.Context(), &buf, s.db); err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", reportCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}
