package metrics

// Variant names the model that an evaluation record belongs to. The trained
// model is VariantLive; strategies that keep extra evaluation models (EMA
// temporal ensembles, for instance) name theirs, e.g. "ema0.99". Every metric
// is computed per variant.
const VariantLive = "live"

// Subset says which samples of an experience an evaluation record covers.
type Subset string

const (
	// SubsetFixed is a fixed subset of the experience's test split, drawn
	// once per run with the run seed (the default continual-evaluation set).
	SubsetFixed Subset = "fixed"
	// SubsetResampled is a subset redrawn at every evaluation point (what
	// the De Lange et al. code does).
	SubsetResampled Subset = "resampled"
	// SubsetValidation is a subset held out of the experience's training
	// split.
	SubsetValidation Subset = "validation"
)

// EvalRecord is one continual-evaluation result: the model after Iteration
// updates, while experience Training was being trained, evaluated on the
// continual-evaluation subset of experience Evaluated. Experiences are
// numbered from 1 in stream order; Iteration 0 is the model before any update
// (and then Training is 1).
//
// By default only seen experiences (Evaluated <= Training) are evaluated; at
// each experience end e_k the experience about to start (Evaluated =
// Training+1) is evaluated as well, since LCA needs its accuracy before its
// first update. Metrics other than LCA use only records with Evaluated <=
// Training.
type EvalRecord struct {
	Iteration int
	Training  int
	Evaluated int
	Variant   string
	Correct   int
	Total     int
	// LossSum is the summed (not mean) cross-entropy over the Total samples.
	LossSum float64
	Subset  Subset
}

// Accuracy returns Correct/Total, or 0 when Total is 0.
func (r EvalRecord) Accuracy() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.Total)
}

// MatrixRecord is one entry R_{Row,Col} of the accuracy matrix: the model at
// the end of experience Row (Row 0 is the model at initialisation) evaluated
// on the full test split of experience Col (1-based, every experience
// including unseen ones).
type MatrixRecord struct {
	Row     int
	Col     int
	Variant string
	Correct int
	Total   int
	LossSum float64
}

// Accuracy returns Correct/Total, or 0 when Total is 0.
func (r MatrixRecord) Accuracy() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.Total)
}

// RunStatus is the life-cycle state of a stored run.
type RunStatus string

const (
	// RunRunning: started, not finished (or the process died).
	RunRunning RunStatus = "running"
	// RunComplete: every experience trained and evaluated, metrics stored.
	RunComplete RunStatus = "complete"
	// RunFailed: stopped by an error.
	RunFailed RunStatus = "failed"
	// RunInterrupted: cancelled before the end (signal, context).
	RunInterrupted RunStatus = "interrupted"
	// RunDiverged: stopped at a NaN or infinite training loss; metrics are
	// computed on what exists.
	RunDiverged RunStatus = "diverged"
)

// RunInfo describes a run when it starts.
type RunInfo struct {
	// Key identifies the run's resolved configuration and seed.
	Key       string
	Preset    string
	Benchmark string
	Strategy  string
	Seed      uint64
	// Config is the resolved configuration as a JSON object.
	Config []byte
	// CodeVersion is cleval's version.
	CodeVersion    string
	NumExperiences int
	// EvalSubset is how continual-evaluation subsets are drawn.
	EvalSubset Subset
	// Variants are the model variants evaluated (VariantLive first).
	Variants []string
	// Experiences describes the stream's experiences in order.
	Experiences []ExperienceInfo
}

// ExperienceInfo describes one experience of a run.
type ExperienceInfo struct {
	ID        int
	Classes   []int32
	Task      int
	TrainSize int
	TestSize  int
	// EvalSize is the size of the continual-evaluation subset.
	EvalSize int
}
