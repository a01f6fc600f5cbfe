package ingest

import (
	"fmt"
	"sort"
	"strings"
)

// Table is a table of the record format.
type Table int

// The tables. TableAuto is an input whose table comes from its file name,
// or, in JSON Lines, from each line's "table" field.
const (
	TableAuto Table = iota
	TableEvaluations
	TableMatrix
	TableRuns
	TableExperiences
)

var tableNames = map[Table]string{
	TableEvaluations: "evaluations", TableMatrix: "accuracy_matrix", TableRuns: "runs", TableExperiences: "experiences",
}

func (t Table) String() string {
	if s, ok := tableNames[t]; ok {
		return s
	}
	return "auto"
}

// ParseTable returns the table a name stands for: its name in the format
// (evaluations, accuracy_matrix, runs, experiences) or a short one (evals,
// matrix).
func ParseTable(s string) (Table, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "evaluations", "evals":
		return TableEvaluations, true
	case "accuracy_matrix", "matrix":
		return TableMatrix, true
	case "runs":
		return TableRuns, true
	case "experiences":
		return TableExperiences, true
	}
	return TableAuto, false
}

// col identifies a column of the format.
type col int

const (
	colUnknown col = iota
	colDrop        // renamed to nothing with --map NAME=
	colFree        // a configuration key (runs table)
	colTable       // the "table" field of a JSON Lines line
	colRun
	colVariant
	colIteration
	colTraining
	colEval
	colCorrect
	colTotal
	colAccuracy
	colLoss
	colLossSum
	colSubset
	colSeen
	colRow
	colCol
	colExp
	colEnd
	colStart
	colClasses
	colTask
	colTrainSize
	colTestSize
	colEvalSize
	colSeed
	colStrategy
	colBenchmark
	colPreset
	colNumExp
	colEvalSubset
	colConfig
	colCodeVersion
	colStatus
	colHost
)

// tableCols are the columns of each table by name. run_id (the name in
// cleval's export) is an alias of run.
var tableCols = map[Table]map[string]col{
	TableEvaluations: {"run": colRun, "variant": colVariant, "iteration": colIteration, "training_exp": colTraining, "eval_exp": colEval,
		"correct": colCorrect, "total": colTotal, "accuracy": colAccuracy, "loss": colLoss, "loss_sum": colLossSum, "subset": colSubset, "seen": colSeen},
	TableMatrix: {"run": colRun, "variant": colVariant, "row_exp": colRow, "col_exp": colCol, "correct": colCorrect, "total": colTotal,
		"accuracy": colAccuracy, "loss": colLoss, "loss_sum": colLossSum},
	TableExperiences: {"run": colRun, "exp": colExp, "end_iteration": colEnd, "start_iteration": colStart, "classes": colClasses, "task": colTask,
		"train_size": colTrainSize, "test_size": colTestSize, "eval_size": colEvalSize},
	TableRuns: {"run": colRun, "seed": colSeed, "strategy": colStrategy, "benchmark": colBenchmark, "preset": colPreset,
		"num_experiences": colNumExp, "eval_subset": colEvalSubset, "config": colConfig, "code_version": colCodeVersion, "status": colStatus, "host": colHost},
}

// requiredCols names, per table, the columns every row needs; "a|b" means
// one of them.
var requiredCols = map[Table][]string{
	TableEvaluations: {"iteration", "training_exp", "eval_exp", "total", "correct|accuracy"},
	TableMatrix:      {"row_exp", "col_exp", "total", "correct|accuracy"},
	TableExperiences: {"exp"},
	TableRuns:        {},
}

// knownCols lists a table's columns for messages.
func knownCols(t Table) string {
	var names []string
	for n := range tableCols[t] {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// resolver maps field names of an input, through --map, to columns.
type resolver struct {
	rename map[string]string
	cache  map[Table]map[string]col
}

func newResolver(rename map[string]string) *resolver {
	return &resolver{rename: rename, cache: map[Table]map[string]col{}}
}

// name returns the format's name for a field name (after --map) and
// whether the field is dropped.
func (r *resolver) name(field string) (string, bool) {
	if to, ok := r.rename[field]; ok {
		return to, to == ""
	}
	return field, false
}

// col returns the column a field of table t is.
func (r *resolver) col(t Table, field string) col {
	c, ok := r.cache[t][field]
	if ok {
		return c
	}
	name, drop := r.name(field)
	switch {
	case drop:
		c = colDrop
	case name == "table":
		c = colTable
	default:
		c = tableCols[t][name]
		if c == colUnknown && name == "run_id" {
			c = colRun
		}
		if c == colUnknown && t == TableRuns {
			c = colFree
		}
	}
	if r.cache[t] == nil {
		r.cache[t] = map[string]col{}
	}
	if len(r.cache[t]) < 4096 {
		r.cache[t][field] = c
	}
	return c
}

// label names a field in messages: its name in the format, and the name
// in the file when --map renamed it.
func (r *resolver) label(field string) string {
	name, _ := r.name(field)
	if name == "run_id" {
		name = "run"
	}
	if name != field {
		return fmt.Sprintf("%s (%s in the file)", name, field)
	}
	return name
}

// checkColumns checks that the fields of table t hold every required
// column and no unknown one. where locates the header or the line.
func (r *resolver) checkColumns(t Table, fields []string, file string, where position) error {
	err := r.checkColumns1(t, fields, file, where)
	if ie, ok := err.(*InputError); ok && where == (position{}) {
		ie.Header = true
	}
	return err
}

func (r *resolver) checkColumns1(t Table, fields []string, file string, where position) error {
	have := map[col]bool{}
	for _, f := range fields {
		c := r.col(t, f)
		if c == colUnknown {
			hint := "rename it with --map " + f + "=NAME or drop it with --map " + f + "="
			return inputErr(file, where, r.label(f), "unknown column of table %s (its columns: %s); %s", t, knownCols(t), hint)
		}
		if have[c] && c != colFree && c != colDrop {
			return inputErr(file, where, r.label(f), "two columns are %s (check --map)", r.label(f))
		}
		have[c] = true
	}
	for _, req := range requiredCols[t] {
		ok := false
		for _, alt := range strings.Split(req, "|") {
			ok = ok || have[tableCols[t][alt]]
		}
		if !ok {
			names := strings.ReplaceAll(req, "|", " or ")
			return inputErr(file, where, names, "missing column: table %s needs %s (map your names with --map, e.g. --map t=iteration)", t, strings.Join(requiredNames(t), ", "))
		}
	}
	return nil
}

func requiredNames(t Table) []string {
	out := make([]string, len(requiredCols[t]))
	for i, r := range requiredCols[t] {
		out[i] = strings.ReplaceAll(r, "|", " or ")
	}
	return out
}
