package datasets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TableOptions says how a table of samples (Parquet, Arrow IPC or CSV)
// becomes a Dataset pair. The zero value reads a column "label", uses every
// other column as a feature and holds out a stratified 20 % test split.
type TableOptions struct {
	// LabelCol names the label column; "" means "label". Labels are
	// integers 0..C-1 (every class present), or strings: the classes are
	// then the distinct values in sorted order (ClassNames).
	LabelCol string `json:"label_col,omitempty"`
	// FeatureCols name the feature columns, in order. Empty means every
	// column other than the label, split and task columns; a single list
	// column (fixed-size list of numbers, Parquet or Arrow) also works.
	FeatureCols []string `json:"feature_cols,omitempty"`
	// SplitCol optionally names a column saying which split a row belongs
	// to: "train" or "test" (any case), or 0 (train) and 1 (test).
	SplitCol string `json:"split_col,omitempty"`
	// TaskCol optionally names a column assigning rows to tasks (or
	// domains): integers ≥ 0 or strings, ordered ascending (numerically
	// when every value is a number). See Dataset.Tasks.
	TaskCol string `json:"task_col,omitempty"`
	// NumClasses fixes the number of classes; 0 infers it (largest integer
	// label plus one, or the number of distinct string labels).
	NumClasses int `json:"num_classes,omitempty"`
	// TestFraction is the fraction of each class held out as the test split
	// when there is no SplitCol, in (0, 1); 0 means 0.2. Each class keeps at
	// least one sample in each split.
	TestFraction float64 `json:"test_fraction,omitempty"`
	// SplitSeed seeds that hold-out (the same for every run, so that runs
	// of different seeds share their test split).
	SplitSeed uint64 `json:"split_seed,omitempty"`
	// Shape is the per-sample shape, e.g. [28, 28] for 784 pixel columns
	// (rotations need two dimensions); empty means [number of features].
	// See Dataset.CHW for how a shape reads as channels × height × width.
	Shape []int `json:"shape,omitempty"`
	// ImageShape declares the feature columns an image of C channels of
	// H×W values, [C, H, W], stored channel by channel, row by row (the
	// CHW layout of PyTorch and of the CIFAR files: [3, 32, 32] for 3072
	// columns). It must hold exactly as many values as there are features
	// and excludes Shape.
	ImageShape []int `json:"image_shape,omitempty"`
}

// maxTableClasses bounds the number of classes a label column may imply.
const maxTableClasses = 1 << 16

func (o TableOptions) labelCol() string {
	if o.LabelCol == "" {
		return "label"
	}
	return o.LabelCol
}

func (o TableOptions) testFraction() float64 {
	if o.TestFraction == 0 {
		return 0.2
	}
	return o.TestFraction
}

// Validate checks the options that do not depend on a table.
func (o TableOptions) Validate() error {
	switch {
	case !(o.TestFraction >= 0 && o.TestFraction < 1):
		return fmt.Errorf("datasets: test fraction %v: must be in (0, 1) (0 for 0.2)", o.TestFraction)
	case o.NumClasses < 0 || o.NumClasses > maxTableClasses:
		return fmt.Errorf("datasets: number of classes %d: must be 1 to %d (0 to infer it)", o.NumClasses, maxTableClasses)
	case o.SplitCol != "" && o.TestFraction != 0:
		return fmt.Errorf("datasets: a split column (%q) and a test fraction (%v) were both given", o.SplitCol, o.TestFraction)
	}
	for _, s := range o.Shape {
		if s < 1 {
			return fmt.Errorf("datasets: shape %v: sizes must be >= 1", o.Shape)
		}
	}
	if len(o.ImageShape) > 0 {
		if len(o.Shape) > 0 {
			return fmt.Errorf("datasets: shape %v and image_shape %v were both given: set one", o.Shape, o.ImageShape)
		}
		if len(o.ImageShape) != 3 {
			return fmt.Errorf("datasets: image_shape %v: want three sizes, channels, height and width (e.g. [3, 32, 32])", o.ImageShape)
		}
		for _, s := range o.ImageShape {
			if s < 1 {
				return fmt.Errorf("datasets: image_shape %v: sizes must be >= 1", o.ImageShape)
			}
		}
	}
	roles := map[string]string{o.labelCol(): "label"}
	for _, c := range []struct{ col, role string }{{o.SplitCol, "split"}, {o.TaskCol, "task"}} {
		if c.col == "" {
			continue
		}
		if r, dup := roles[c.col]; dup {
			return fmt.Errorf("datasets: column %q is both the %s and the %s column", c.col, r, c.role)
		}
		roles[c.col] = c.role
	}
	for _, f := range o.FeatureCols {
		if r, dup := roles[f]; dup {
			return fmt.Errorf("datasets: column %q is both a feature and the %s column", f, r)
		}
		roles[f] = "feature"
	}
	return nil
}

// ColumnKind is what a reader found in a column.
type ColumnKind int

const (
	// KindAny: values still to be parsed (CSV text).
	KindAny ColumnKind = iota
	// KindNumeric: integers or floating-point numbers.
	KindNumeric
	// KindString: text (or dictionary-encoded text).
	KindString
	// KindList: a list of numbers per row (a feature vector).
	KindList
	// KindOther: anything else (dates, structs, ...); never usable.
	KindOther
)

// Column describes one column of a table.
type Column struct {
	Name string
	Kind ColumnKind
	// Type is the column's type as the file states it, for messages.
	Type string
	// ListSize is the fixed size of a KindList column, 0 when the lists may
	// vary in length (then every row must have the first row's length).
	ListSize int
}

// TableLayout is the role of each column: the result of ResolveColumns.
type TableLayout struct {
	// Label, Split and Task are column indices; Split and Task are -1 when
	// absent.
	Label, Split, Task int
	// Features are the feature columns in order; when List is set it holds
	// the single list column.
	Features []int
	List     bool
	// FeatureNames name each feature value ("x[3]" for a list column "x");
	// filled by SetDim for list columns whose size the reader learns late.
	FeatureNames []string
}

// Dim returns the number of feature values, len(FeatureNames).
func (l *TableLayout) Dim() int { return len(l.FeatureNames) }

// SetListDim names the n values of the list feature column called name.
func (l *TableLayout) SetListDim(name string, n int) {
	l.FeatureNames = make([]string, n)
	for i := range l.FeatureNames {
		l.FeatureNames[i] = name + "[" + strconv.Itoa(i) + "]"
	}
}

// ResolveColumns finds the label, split, task and feature columns of a
// table at path with the given columns. A list column's size may be 0
// (unknown yet); the reader then calls SetListDim.
func ResolveColumns(path string, cols []Column, o TableOptions) (TableLayout, error) {
	if err := o.Validate(); err != nil {
		return TableLayout{}, &FileError{Path: path, Kind: ErrCorrupt, Msg: strings.TrimPrefix(err.Error(), "datasets: ")}
	}
	names := make([]string, len(cols))
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		if _, dup := index[c.Name]; dup {
			return TableLayout{}, fileErr(path, ErrCorrupt, fmt.Sprintf("column %q appears twice in the header", c.Name))
		}
		index[c.Name] = i
	}
	find := func(role, name string) (int, error) {
		if name == "" {
			return -1, nil
		}
		i, ok := index[name]
		if !ok {
			return -1, fileErr(path, ErrCorrupt, fmt.Sprintf("no %s column %q (columns: %s)", role, name, strings.Join(names, ", ")))
		}
		switch cols[i].Kind {
		case KindAny, KindNumeric, KindString:
			return i, nil
		}
		return -1, fileErr(path, ErrCorrupt, fmt.Sprintf("%s column %q has type %s: want integers or strings", role, name, cols[i].Type))
	}
	var l TableLayout
	var err error
	if l.Label, err = find("label", o.labelCol()); err != nil {
		return l, err
	}
	if l.Split, err = find("split", o.SplitCol); err != nil {
		return l, err
	}
	if l.Task, err = find("task", o.TaskCol); err != nil {
		return l, err
	}
	feat := o.FeatureCols
	explicit := len(feat) > 0
	if !explicit {
		for i, c := range cols {
			if i != l.Label && i != l.Split && i != l.Task {
				feat = append(feat, c.Name)
			}
		}
	}
	if len(feat) == 0 {
		return l, fileErr(path, ErrCorrupt, fmt.Sprintf("no feature columns: the table has only %s", strings.Join(names, ", ")))
	}
	for _, f := range feat {
		i, ok := index[f]
		if !ok {
			return l, fileErr(path, ErrCorrupt, fmt.Sprintf("no feature column %q (columns: %s)", f, strings.Join(names, ", ")))
		}
		c := cols[i]
		switch {
		case c.Kind == KindList && len(feat) == 1:
			l.List = true
		case c.Kind == KindList:
			return l, fileErr(path, ErrCorrupt, fmt.Sprintf("feature column %q is a list: a list column must be the only feature column (set the feature columns)", f))
		case c.Kind == KindString || c.Kind == KindOther:
			hint := ""
			if !explicit {
				hint = "; name the feature columns explicitly"
			}
			return l, fileErr(path, ErrCorrupt, fmt.Sprintf("feature column %q has type %s: features must be numbers%s", f, c.Type, hint))
		}
		l.Features = append(l.Features, i)
	}
	if l.List {
		l.SetListDim(cols[l.Features[0]].Name, cols[l.Features[0]].ListSize)
	} else {
		l.FeatureNames = slices.Clone(feat)
	}
	return l, nil
}
