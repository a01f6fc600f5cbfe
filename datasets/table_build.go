package datasets

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Values holds one non-feature column (label, split or task) of a table.
// Exactly one of Num and Str is used.
type Values struct {
	Num []float64
	Str []string
	// Null marks missing values; nil when there are none.
	Null []bool
}

func (v *Values) null(i int) bool { return v.Null != nil && v.Null[i] }

// TableData is a table as read from a file, before validation: what a
// table reader produces and Build turns into datasets.
type TableData struct {
	// Path names the file in error messages.
	Path   string
	Rows   int
	Layout TableLayout
	// Features holds Rows×Dim values, row-major.
	Features []float32
	// Label, Split and Task hold the columns of Layout (Split and Task are
	// empty when absent).
	Label, Split, Task Values
}

// TableRowError returns the error for a bad value at row (1-based, not
// counting a header) of column col.
func TableRowError(path string, row int, col, format string, args ...any) error {
	return fileErr(path, ErrCorrupt, fmt.Sprintf("row %d, column %q: %s", row, col, fmt.Sprintf(format, args...)))
}

// Build validates the table and splits it into a train/test pair: no
// missing labels, splits or tasks, finite features, integer labels in
// range, every class present in both splits. Errors name the file, the
// row (from 1, not counting a header) and the column.
func (t *TableData) Build(o TableOptions) (Pair, error) {
	if err := o.Validate(); err != nil {
		return Pair{}, &FileError{Path: t.Path, Kind: ErrCorrupt, Msg: strings.TrimPrefix(err.Error(), "datasets: ")}
	}
	n, dim := t.Rows, t.Layout.Dim()
	if n == 0 {
		return Pair{}, fileErr(t.Path, ErrCorrupt, "the table has no rows")
	}
	if dim == 0 {
		return Pair{}, fileErr(t.Path, ErrCorrupt, "the samples have no feature values")
	}
	if len(t.Features) != n*dim {
		panic(fmt.Sprintf("datasets: TableData %s: %d feature values for %d rows of %d", t.Path, len(t.Features), n, dim))
	}
	for i, f := range t.Features {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return Pair{}, TableRowError(t.Path, i/dim+1, t.Layout.FeatureNames[i%dim], "feature value is %v: features must be finite", f)
		}
	}
	shape, err := o.sampleShape(dim)
	if err != nil {
		return Pair{}, fileErr(t.Path, ErrCorrupt, err.Error())
	}
	labelCol := o.labelCol()
	labels, classNames, err := t.labels(labelCol, o.NumClasses)
	if err != nil {
		return Pair{}, err
	}
	numClasses := o.NumClasses
	if numClasses == 0 {
		numClasses = len(classNames)
	}
	if classNames != nil && numClasses != len(classNames) {
		return Pair{}, fileErr(t.Path, ErrCorrupt, fmt.Sprintf("column %q has %d distinct labels, but the number of classes is set to %d", labelCol, len(classNames), numClasses))
	}
	if classNames == nil {
		for _, y := range labels {
			numClasses = max(numClasses, int(y)+1)
		}
	}
	var tasks []int32
	var taskNames []string
	if t.Layout.Task >= 0 {
		if tasks, taskNames, err = t.tasks(o.TaskCol); err != nil {
			return Pair{}, err
		}
	}
	test := make([]bool, n)
	if t.Layout.Split >= 0 {
		if err := t.splits(o.SplitCol, test); err != nil {
			return Pair{}, err
		}
	} else if err := holdOut(t.Path, labelCol, labels, classNames, numClasses, o.testFraction(), o.SplitSeed, test); err != nil {
		return Pair{}, err
	}
	// Every class in each split.
	var counts [2][]int
	counts[0], counts[1] = make([]int, numClasses), make([]int, numClasses)
	for i, y := range labels {
		counts[b2i(test[i])][y]++
	}
	for c := range numClasses {
		name := ""
		if classNames != nil {
			name = fmt.Sprintf(" (label %q)", classNames[c])
		}
		switch {
		case counts[0][c]+counts[1][c] == 0:
			return Pair{}, fileErr(t.Path, ErrCorrupt, fmt.Sprintf("column %q: class %d%s has no samples (labels must be 0..%d with every class present; or set the number of classes)", labelCol, c, name, numClasses-1))
		case counts[0][c] == 0:
			return Pair{}, fileErr(t.Path, ErrCorrupt, fmt.Sprintf("column %q: class %d%s has no samples in the train split", labelCol, c, name))
		case counts[1][c] == 0:
			return Pair{}, fileErr(t.Path, ErrCorrupt, fmt.Sprintf("column %q: class %d%s has no samples in the test split", labelCol, c, name))
		}
	}
	base := strings.TrimSuffix(filepath.Base(t.Path), filepath.Ext(t.Path))
	var p Pair
	for s, split := range [2]string{"train", "test"} {
		m := 0
		for _, isTest := range test {
			if isTest == (s == 1) {
				m++
			}
		}
		d := &Dataset{
			Name:       base + "/" + split,
			Shape:      slices.Clone(shape),
			Features:   make([]float32, 0, m*dim),
			Labels:     make([]int32, 0, m),
			NumClasses: numClasses,
			ClassNames: classNames,
			TaskNames:  taskNames,
		}
		if tasks != nil {
			d.Tasks = make([]int32, 0, m)
		}
		for i := range n {
			if test[i] != (s == 1) {
				continue
			}
			d.Features = append(d.Features, t.Features[i*dim:(i+1)*dim]...)
			d.Labels = append(d.Labels, labels[i])
			if tasks != nil {
				d.Tasks = append(d.Tasks, tasks[i])
			}
		}
		if s == 0 {
			p.Train = d
		} else {
			p.Test = d
		}
	}
	if err := p.Validate(); err != nil {
		return Pair{}, err
	}
	return p, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		if v > 0 && n > math.MaxInt/v {
			return -1
		}
		n *= v
	}
	return n
}

// numeric converts a column to numbers when it is numeric, or text whose
// every present value parses as a number; ok is false otherwise.
func (v *Values) numeric(rows int) (nums []float64, ok bool) {
	if v.Num != nil {
		return v.Num, true
	}
	nums = make([]float64, rows)
	for i, s := range v.Str {
		if v.null(i) {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, false
		}
		nums[i] = f
	}
	return nums, true
}

// missing reports whether row i has no value: null, or empty text.
func (v *Values) missing(i int) bool {
	return v.null(i) || (v.Str != nil && strings.TrimSpace(v.Str[i]) == "")
}

func (t *TableData) labels(col string, numClasses int) ([]int32, []string, error) {
	v := &t.Label
	for i := range t.Rows {
		if v.missing(i) {
			return nil, nil, TableRowError(t.Path, i+1, col, "missing label")
		}
	}
	labels := make([]int32, t.Rows)
	if nums, ok := v.numeric(t.Rows); ok {
		limit := maxTableClasses
		if numClasses > 0 {
			limit = numClasses
		}
		for i, f := range nums {
			switch {
			case f != math.Trunc(f) || math.IsInf(f, 0):
				return nil, nil, TableRowError(t.Path, i+1, col, "label %v is not an integer", f)
			case f < 0 || f >= float64(limit):
				if numClasses > 0 {
					return nil, nil, TableRowError(t.Path, i+1, col, "label %v out of range [0, %d) (the number of classes is %d)", f, limit, numClasses)
				}
				return nil, nil, TableRowError(t.Path, i+1, col, "label %v out of range: labels must be integers in [0, %d)", f, limit)
			}
			labels[i] = int32(f)
		}
		return labels, nil, nil
	}
	names, ids := distinct(v.Str, false)
	if len(names) > maxTableClasses {
		return nil, nil, fileErr(t.Path, ErrCorrupt, fmt.Sprintf("column %q has %d distinct labels, more than %d", col, len(names), maxTableClasses))
	}
	return ids, names, nil
}

// distinct returns the sorted distinct trimmed values of s and each value's
// index among them; numeric sorts them as numbers (all must parse).
func distinct(s []string, numeric bool) ([]string, []int32) {
	set := map[string]float64{}
	for _, v := range s {
		v = strings.TrimSpace(v)
		if _, ok := set[v]; !ok {
			f, _ := strconv.ParseFloat(v, 64)
			set[v] = f
		}
	}
	names := make([]string, 0, len(set))
	for v := range set {
		names = append(names, v)
	}
	slices.SortFunc(names, func(a, b string) int {
		if numeric {
			if c := cmp.Compare(set[a], set[b]); c != 0 {
				return c
			}
		}
		return strings.Compare(a, b)
	})
	pos := make(map[string]int32, len(names))
	for i, v := range names {
		pos[v] = int32(i)
	}
	ids := make([]int32, len(s))
	for i, v := range s {
		ids[i] = pos[strings.TrimSpace(v)]
	}
	return names, ids
}

func (t *TableData) tasks(col string) ([]int32, []string, error) {
	v := &t.Task
	for i := range t.Rows {
		if v.missing(i) {
			return nil, nil, TableRowError(t.Path, i+1, col, "missing task")
		}
	}
	if nums, ok := v.numeric(t.Rows); ok {
		strs := make([]string, t.Rows)
		for i, f := range nums {
			if f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
				return nil, nil, TableRowError(t.Path, i+1, col, "task %v: tasks must be integers >= 0 or strings", f)
			}
			strs[i] = strconv.FormatInt(int64(f), 10)
		}
		names, ids := distinct(strs, true)
		return ids, names, nil
	}
	names, ids := distinct(v.Str, false)
	return ids, names, nil
}

func (t *TableData) splits(col string, test []bool) error {
	v := &t.Split
	for i := range t.Rows {
		if v.missing(i) {
			return TableRowError(t.Path, i+1, col, "missing split (want train or test)")
		}
		if v.Num != nil {
			switch v.Num[i] {
			case 0:
			case 1:
				test[i] = true
			default:
				return TableRowError(t.Path, i+1, col, "split %v: want 0 (train) or 1 (test)", v.Num[i])
			}
			continue
		}
		switch s := strings.ToLower(strings.TrimSpace(v.Str[i])); s {
		case "train", "0":
		case "test", "1":
			test[i] = true
		default:
			return TableRowError(t.Path, i+1, col, "split %q: want train or test", v.Str[i])
		}
	}
	return nil
}

// holdOut marks round(fraction·n_c) samples of each class c as test
// (at least one, and at least one left for training), chosen with a
// generator seeded by seed.
func holdOut(path, col string, labels []int32, names []string, numClasses int, fraction float64, seed uint64, test []bool) error {
	byClass := make([][]int32, numClasses)
	for i, y := range labels {
		byClass[y] = append(byClass[y], int32(i))
	}
	rng := rand.New(rand.NewPCG(seed, 0x7e57_5e7))
	for c, rows := range byClass {
		n := len(rows)
		if n == 1 {
			class := fmt.Sprintf("class %d", c)
			if names != nil {
				// Text labels (or labels mixing numbers and text): name
				// the user's value, not its class number.
				class = fmt.Sprintf("label %q (class %d of the sorted labels)", names[c], c)
			}
			return fileErr(path, ErrCorrupt, fmt.Sprintf("column %q: %s has a single sample (row %d): too few to hold out a test split (add a split column)", col, class, rows[0]+1))
		}
		if n == 0 {
			continue // reported as an empty class
		}
		k := min(max(int(math.Round(fraction*float64(n))), 1), n-1)
		for i := range k {
			j := i + rng.IntN(n-i)
			rows[i], rows[j] = rows[j], rows[i]
			test[rows[i]] = true
		}
	}
	return nil
}
