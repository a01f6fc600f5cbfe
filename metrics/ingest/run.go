package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cleval/cleval/metrics/store"
)

// RunResult is one run of an ingest.
type RunResult struct {
	// Name is the run's name in the input.
	Name string
	// ID is the stored run; when Existing, the run was already stored
	// (the same records ingested before) and ID is that run.
	ID       int64
	Existing bool
	Strategy string
	Seed     uint64
	// Records counts the evaluation records.
	Records        int
	NumExperiences int
	Variants       []string
}

// Result is what an ingest stored.
type Result struct {
	Files []File
	Runs  []RunResult
}

// Ingest reads the inputs and stores every run in db in one transaction.
func Ingest(ctx context.Context, db *store.DB, opt Options) (*Result, error) {
	p, err := Prepare(opt)
	if err != nil {
		return nil, err
	}
	return p.Run(ctx, db)
}

// loc is where a row is: a file of the plan and a position in it.
type loc struct {
	file int // index in Plan.files + 1; 0 = nowhere
	p    position
}

// runState is what pass one keeps per run: its id, where it first
// appeared and where its metadata is, and the last iteration of each
// variant (records must come in iteration order).
type runState struct {
	name  string
	id    int64
	first loc
	meta  loc
	last  map[string]int
}

type ingester struct {
	plan  *Plan
	g     *store.Ingest
	ctx   context.Context
	runs  map[string]*runState
	order []*runState
	r     *resolver
}

// Run ingests the plan's files into db: every row is read and checked and
// written inside one transaction, then every run is checked as a whole,
// its metrics computed and the run marked complete. On any error the
// transaction is rolled back and the database is as it was.
func (p *Plan) Run(ctx context.Context, db *store.DB) (*Result, error) {
	g, err := db.BeginIngest(ctx)
	if err != nil {
		return nil, err
	}
	defer g.Rollback()
	ing := &ingester{plan: p, g: g, ctx: ctx, runs: map[string]*runState{}, r: newResolver(p.opt.Map)}
	for i := range p.files {
		if err := ing.read(i); err != nil {
			return nil, err
		}
	}
	res := &Result{Files: p.files}
	for i, rs := range ing.order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rr, err := ing.finish(rs)
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, rr)
		if p.opt.Progress != nil {
			p.opt.Progress("storing runs", int64(i+1), int64(len(ing.order)))
		}
	}
	if p.opt.DryRun {
		return res, g.Rollback()
	}
	if err := g.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

func (ing *ingester) fileName(l loc) string { return ing.plan.files[l.file-1].Path }

func (ing *ingester) runOf(name string, at loc) (*runState, error) {
	if rs, ok := ing.runs[name]; ok {
		return rs, nil
	}
	id, err := ing.g.NewRun()
	if err != nil {
		return nil, err
	}
	rs := &runState{name: strings.Clone(name), id: id, first: at}
	ing.runs[rs.name] = rs
	ing.order = append(ing.order, rs)
	return rs, nil
}

// tableBits marks the tables a file held for a run.
const (
	bitEvals = 1 << iota
	bitMatrix
	bitRuns
	bitExps
)

func tablesOf(bits uint8) string {
	var s []string
	for _, t := range []struct {
		bit  uint8
		name string
	}{{bitEvals, "evaluations"}, {bitMatrix, "accuracy_matrix"}, {bitRuns, "runs"}, {bitExps, "experiences"}} {
		if bits&t.bit != 0 {
			s = append(s, t.name)
		}
	}
	return strings.Join(s, ",")
}

// shape caches the columns of the last row shape seen for a table (JSON
// Lines rows of one kind repeat their keys).
type shape struct {
	fields []string
	cols   []col
}

// read is pass one over file i: every row is decoded, checked and
// written.
func (ing *ingester) read(i int) error {
	f := ing.plan.files[i]
	src, err := openSource(f.Path, f.Format, f.gz)
	if err != nil {
		return err
	}
	defer src.close()
	d := ing.decoder(f.Path)
	shapes := map[Table]*shape{}
	colsOf := func(t Table, fields []string, where position) ([]col, error) {
		s := shapes[t]
		if s != nil && slices.Equal(s.fields, fields) {
			return s.cols, nil
		}
		if err := ing.r.checkColumns(t, fields, f.Path, where); err != nil {
			return nil, err
		}
		s = &shape{fields: append([]string(nil), fields...), cols: make([]col, len(fields))}
		for j, name := range fields {
			s.cols[j] = ing.r.col(t, name)
		}
		shapes[t] = s
		return s.cols, nil
	}
	touched := map[*runState]uint8{}
	var (
		ev  evalRow
		mr  matrixRow
		er  expRow
		mt  metaRow
		n   int64
		msg = "reading " + filepath.Base(f.Path)
	)
	for src.next() {
		n++
		if n&0xffff == 0 {
			if err := ing.ctx.Err(); err != nil {
				return err
			}
			if ing.plan.opt.Progress != nil {
				done, total := src.done()
				ing.plan.opt.Progress(msg, done, total)
			}
		}
		fields := src.names()
		t := f.Table
		if !src.fixed() {
			if t, err = d.tableOf(src, fields, f.Table); err != nil {
				return err
			}
		}
		cols, err := colsOf(t, fields, headerPos(src))
		if err != nil {
			return err
		}
		at := loc{i + 1, src.pos()}
		switch t {
		case TableEvaluations:
			if err := d.evalRow(src, fields, cols, &ev); err != nil {
				return err
			}
			rs, err := ing.runOf(ev.run, at)
			if err != nil {
				return err
			}
			if rs.last == nil {
				rs.last = map[string]int{}
			}
			if last, ok := rs.last[ev.Variant]; ok && ev.Iteration < last {
				return d.rowErr(src, fieldOf(fields, cols, colIteration), "%d after iteration %d of run %s, variant %s: each run's records must come in iteration order",
					ev.Iteration, last, rs.name, ev.Variant)
			}
			rs.last[ev.Variant] = ev.Iteration
			if err := ing.g.AddEval(rs.id, ev.EvalRecord); err != nil {
				return ing.storeErr(err)
			}
			touched[rs] |= bitEvals
		case TableMatrix:
			if err := d.matrixRow(src, fields, cols, &mr); err != nil {
				return err
			}
			rs, err := ing.runOf(mr.run, at)
			if err != nil {
				return err
			}
			if err := ing.g.AddMatrix(rs.id, mr.MatrixRecord); err != nil {
				return ing.storeErr(err)
			}
			touched[rs] |= bitMatrix
		case TableExperiences:
			if err := d.expRow(src, fields, cols, &er); err != nil {
				return err
			}
			rs, err := ing.runOf(er.run, at)
			if err != nil {
				return err
			}
			if err := ing.g.AddExperience(rs.id, er.ExperienceRow); err != nil {
				return ing.storeErr(err)
			}
			touched[rs] |= bitExps
		case TableRuns:
			if err := d.metaRow(src, fields, cols, &mt); err != nil {
				return err
			}
			rs, err := ing.runOf(mt.run, at)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(mt.meta)
			ok, err := ing.g.SetMeta(rs.id, b)
			if err != nil {
				return err
			}
			if !ok {
				return inputErr(f.Path, src.pos(), "run", "run %s has a second row in the runs table (the first is %s)", rs.name, ing.where(rs.meta))
			}
			rs.meta = at
			touched[rs] |= bitRuns
		}
	}
	if err := src.err(); err != nil {
		return err
	}
	if err := ing.g.Flush(); err != nil {
		return ing.storeErr(err)
	}
	for rs, bits := range touched {
		if err := ing.g.AddSource(rs.id, store.Source{File: f.Path, Tables: tablesOf(bits), Bytes: f.Bytes, SHA256: f.SHA256,
			SourceRun: rs.name, Options: ing.plan.optionsJSON}); err != nil {
			return err
		}
	}
	if ing.plan.opt.Progress != nil {
		done, total := src.done()
		ing.plan.opt.Progress(msg, done, total)
	}
	return nil
}

// decoder returns a decoder for the rows of file: experience indices are
// shifted by 1 - base to cleval's numbering from 1.
func (ing *ingester) decoder(file string) *decoder {
	d := &decoder{r: ing.r, file: file, run: ing.plan.opt.Run, zeroBased: ing.plan.opt.ZeroBased}
	if d.zeroBased {
		d.offset = 1
	}
	return d
}

// headerPos is where a row's columns are checked: the header of a file
// with one (no position), the line of a JSON Lines row.
func headerPos(src source) position {
	if src.fixed() {
		return position{}
	}
	return src.pos()
}

// fieldOf returns the field name of column c in a row.
func fieldOf(fields []string, cols []col, c col) string {
	for i, x := range cols {
		if x == c {
			return fields[i]
		}
	}
	return ""
}

// where describes a location for messages.
func (ing *ingester) where(l loc) string {
	if l.file == 0 {
		return "unknown"
	}
	s := ing.fileName(l)
	if p := l.p.String(); p != "" {
		s += " " + p
	}
	return s
}

// storeErr turns a duplicate reported by the store into an error naming
// both rows; other errors pass.
func (ing *ingester) storeErr(err error) error {
	var dup *store.DuplicateError
	if !errors.As(err, &dup) {
		return err
	}
	var name string
	for _, rs := range ing.order {
		if rs.id == dup.Run {
			name = rs.name
		}
	}
	var (
		t    Table
		what string
		col  string
		pred func(row any) bool
	)
	switch dup.Table {
	case "evaluations":
		e := dup.Eval
		t, col = TableEvaluations, "eval_exp"
		what = fmt.Sprintf("duplicate record: run %s, variant %s, iteration %d, eval_exp %d", name, e.Variant, e.Iteration, ing.showExp(e.Evaluated))
		pred = func(row any) bool {
			r := row.(*evalRow)
			return r.run == name && r.Variant == e.Variant && r.Iteration == e.Iteration && r.Evaluated == e.Evaluated
		}
	case "accuracy_matrix":
		m := dup.Matrix
		t, col = TableMatrix, "col_exp"
		what = fmt.Sprintf("duplicate accuracy-matrix entry: run %s, variant %s, row_exp %d, col_exp %d", name, m.Variant, ing.showExp(m.Row), ing.showExp(m.Col))
		pred = func(row any) bool {
			r := row.(*matrixRow)
			return r.run == name && r.Variant == m.Variant && r.Row == m.Row && r.Col == m.Col
		}
	default:
		t, col = TableExperiences, "exp"
		what = fmt.Sprintf("duplicate experience: run %s, exp %d", name, ing.showExp(dup.Exp))
		pred = func(row any) bool {
			r := row.(*expRow)
			return r.run == name && r.Exp == dup.Exp
		}
	}
	found := ing.locate(t, 2, pred)
	if len(found) == 2 {
		e := ing.errAt(found[1], col, "%s (the first is %s)", what, found[0].p)
		if found[0].file != found[1].file {
			e.Msg = fmt.Sprintf("%s (the first is in %s)", what, ing.where(found[0]))
		}
		return e
	}
	return invalidf("%s", what)
}

// showExp converts a 1-based experience index back to the input's
// numbering for messages.
func (ing *ingester) showExp(k int) int {
	if ing.plan.opt.ZeroBased {
		return k - 1
	}
	return k
}

func (ing *ingester) errAt(l loc, col, format string, args ...any) *InputError {
	if l.file == 0 {
		return &InputError{File: "input", Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	return inputErr(ing.fileName(l), l.p, col, format, args...)
}

// locate scans the files that may hold table t and returns the first n
// rows (decoded as for pass one) that pred accepts. It runs only to name
// the rows of an error.
func (ing *ingester) locate(t Table, n int, pred func(row any) bool) []loc {
	var out []loc
	for i, f := range ing.plan.files {
		if f.Table != t && f.Table != TableAuto && !(f.Format == FormatJSONL) {
			continue
		}
		src, err := openSource(f.Path, f.Format, f.gz)
		if err != nil {
			continue
		}
		d := ing.decoder(f.Path)
		var (
			ev evalRow
			mr matrixRow
			er expRow
		)
		for src.next() {
			fields := src.names()
			rt := f.Table
			if !src.fixed() {
				if lt, err := d.tableOf(src, fields, f.Table); err == nil {
					rt = lt
				}
			}
			if rt != t {
				continue
			}
			cols := make([]col, len(fields))
			for j, name := range fields {
				cols[j] = ing.r.col(t, name)
			}
			var row any
			switch t {
			case TableEvaluations:
				if d.evalRow(src, fields, cols, &ev) != nil {
					continue
				}
				row = &ev
			case TableMatrix:
				if d.matrixRow(src, fields, cols, &mr) != nil {
					continue
				}
				row = &mr
			case TableExperiences:
				if d.expRow(src, fields, cols, &er) != nil {
					continue
				}
				row = &er
			}
			if pred(row) {
				out = append(out, loc{i + 1, src.pos()})
				if len(out) == n {
					src.close()
					return out
				}
			}
		}
		src.close()
	}
	return out
}
