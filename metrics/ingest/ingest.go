package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Input is one input file or directory.
type Input struct {
	Path string
	// Table is the table the file holds; TableAuto takes it from the file
	// name (evaluations.csv, accuracy_matrix.parquet, runs.jsonl,
	// experiences.arrow, ...) or, in JSON Lines, from each line's "table"
	// field. A directory is read file by file that way.
	Table Table
	// Format is the file format; empty means from the extension.
	Format Format
}

// Options configures an ingest. The zero value (with Inputs) reads
// 1-based experience indices, names the run of tables without a run
// column "1" and takes metadata from the runs table only.
type Options struct {
	Inputs []Input
	// Map renames columns: Map["t"] = "iteration" reads column t as
	// iteration; an empty name drops the column.
	Map map[string]string
	// ZeroBased declares experience indices numbered from 0 (row_exp -1
	// is then the initial model); the default numbers them from 1 (row_exp
	// 0 is the initial model).
	ZeroBased bool
	// Run names the run of the rows that have no run column; empty means
	// "1".
	Run string
	// Meta holds metadata (runs-table columns) for every run, as text
	// typed as in a CSV file: seed=0, strategy=er, lr=0.01.
	Meta map[string]string
	// SeedFromRun takes a run's seed from its name (an integer) when its
	// metadata gives none.
	SeedFromRun bool
	// DryRun reads and checks everything and computes the metrics, then
	// rolls the transaction back: nothing is stored.
	DryRun bool
	// Progress, when not nil, is told what is being done: stage, and work
	// done out of total (bytes or rows read; runs stored).
	Progress func(stage string, done, total int64)
}

// File is one input file of a plan.
type File struct {
	Path   string
	Format Format
	// Table is the file's table, TableAuto for JSON Lines whose lines name
	// their tables.
	Table  Table
	Bytes  int64
	SHA256 string
	gz     bool
}

// Plan is a checked set of inputs: every file exists, has a known format,
// holds rows, and (for files with a header) has the columns its table
// needs.
type Plan struct {
	opt   Options
	files []File
	// optionsJSON is stored with every source (run_sources.options).
	optionsJSON string
}

// Files returns the input files in reading order.
func (p *Plan) Files() []File { return p.files }

// Prepare expands directories, detects the format and table of every
// file, hashes it and checks its header and first row, without a database.
func Prepare(opt Options) (*Plan, error) {
	if len(opt.Inputs) == 0 {
		return nil, invalidf("no input files: give evaluation records (evaluations.csv, a directory, a JSON Lines log, ...)")
	}
	if opt.Run == "" {
		opt.Run = "1"
	}
	for from, to := range opt.Map {
		if from == "" {
			return nil, invalidf("--map %s=%s: the column name to rename is empty", from, to)
		}
	}
	p := &Plan{opt: opt}
	seen := map[string]bool{}
	add := func(f File) error {
		abs, _ := filepath.Abs(f.Path)
		if seen[abs] {
			return invalidf("%s is given twice", f.Path)
		}
		seen[abs] = true
		p.files = append(p.files, f)
		return nil
	}
	for _, in := range opt.Inputs {
		st, err := os.Stat(in.Path)
		if err != nil {
			return nil, openErr(in.Path, err)
		}
		if !st.IsDir() {
			if err := add(File{Path: in.Path, Table: in.Table, Format: in.Format}); err != nil {
				return nil, err
			}
			continue
		}
		files, err := dirFiles(in)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := add(f); err != nil {
				return nil, err
			}
		}
	}
	haveEvals := false
	for i := range p.files {
		if err := p.check(&p.files[i]); err != nil {
			return nil, err
		}
		t := p.files[i].Table
		haveEvals = haveEvals || t == TableEvaluations || t == TableAuto
	}
	if !haveEvals {
		return nil, invalidf("no evaluations table among the inputs (name the file evaluations.csv, .jsonl, .parquet, ... or pass it with --evaluations)")
	}
	// Runs tables first, so that runs are numbered in their order; then
	// evaluations, the rest in the order given.
	order := map[Table]int{TableRuns: 0, TableEvaluations: 1, TableAuto: 1, TableMatrix: 2, TableExperiences: 2}
	sort.SliceStable(p.files, func(i, j int) bool { return order[p.files[i].Table] < order[p.files[j].Table] })
	o := struct {
		Map         map[string]string `json:"map,omitempty"`
		ExpBase     int               `json:"exp_base"`
		Run         string            `json:"run,omitempty"`
		Meta        map[string]string `json:"meta,omitempty"`
		SeedFromRun bool              `json:"seed_from_run,omitempty"`
	}{opt.Map, 1, opt.Run, opt.Meta, opt.SeedFromRun}
	if opt.ZeroBased {
		o.ExpBase = 0
	}
	b, _ := json.Marshal(o)
	p.optionsJSON = string(b)
	return p, nil
}

// derivedTables are the tables of a cleval export that ingest recomputes
// rather than reads.
var derivedTables = map[string]bool{"metrics": true, "gap_events": true}

// dirFiles lists the input files of a directory: files with a known
// extension (others are not data and are skipped), except the derived
// tables of an export.
func dirFiles(in Input) ([]File, error) {
	ents, err := os.ReadDir(in.Path)
	if err != nil {
		return nil, openErr(in.Path, err)
	}
	var out []File
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		stem, ext, _ := splitName(e.Name())
		format, ok := extFormats[ext]
		if in.Format != "" {
			format, ok = in.Format, true
		}
		if !ok || derivedTables[stem] {
			continue
		}
		path := filepath.Join(in.Path, e.Name())
		t, known := ParseTable(stem)
		if !known && format != FormatJSONL {
			return nil, inputErr(path, position{}, "", "cannot tell which table it holds: in a directory, tables are named evaluations, accuracy_matrix, runs and experiences (JSON Lines files may hold any, named by each line's \"table\" field)")
		}
		out = append(out, File{Path: path, Table: t, Format: in.Format})
	}
	if len(out) == 0 {
		return nil, inputErr(in.Path, position{}, "", "no input files in the directory (evaluations.csv, runs.parquet, log.jsonl, ...)")
	}
	return out, nil
}

// check fills in f's format, table, size and hash, and reads its header
// and first row.
func (p *Plan) check(f *File) error {
	st, err := os.Stat(f.Path)
	if err != nil {
		return openErr(f.Path, err)
	}
	if st.Size() == 0 {
		return inputErr(f.Path, position{}, "", "empty file")
	}
	format, gz, err := detectFormat(f.Path, f.Format)
	if err != nil {
		return err
	}
	f.Format, f.gz, f.Bytes = format, gz, st.Size()
	if f.Table == TableAuto {
		stem, _, _ := splitName(f.Path)
		if t, ok := ParseTable(stem); ok {
			f.Table = t
		} else if format != FormatJSONL {
			return inputErr(f.Path, position{}, "", "cannot tell which table it holds: name it evaluations%[1]s, accuracy_matrix%[1]s, runs%[1]s or experiences%[1]s, or pass it with --evaluations, --matrix, --runs or --experiences", extOf(f.Path))
		}
	}
	src, err := openSource(f.Path, f.Format, f.gz)
	if err != nil {
		return err
	}
	defer src.close()
	r := newResolver(p.opt.Map)
	if src.fixed() && f.Table != TableAuto {
		if err := r.checkColumns(f.Table, src.names(), f.Path, position{}); err != nil {
			return err
		}
	}
	if !src.next() {
		if err := src.err(); err != nil {
			return err
		}
		return inputErr(f.Path, position{}, "", "empty: no rows")
	}
	if f.SHA256, err = hashFile(f.Path); err != nil {
		return err
	}
	return nil
}

func extOf(path string) string {
	_, ext, gz := splitName(path)
	if gz {
		ext += ".gz"
	}
	return ext
}

func hashFile(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", openErr(path, err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", inputErr(path, position{}, "", "reading: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
