package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/streams"
)

// Memory is an estimate of the bytes a run allocates beyond its stream:
// Base for the model, its optimizer and strategy state and the training
// workspaces, PerUnit for each evaluation unit (one per two threads, plus
// the driver's).
type Memory struct {
	Base, PerUnit int64
}

// Total returns the estimate for a run on threads threads.
func (m Memory) Total(threads int) int64 {
	units := int64(1)
	if threads >= 2 {
		units += int64(threads / 2)
	}
	return satAdd(m.Base, satMul(units, m.PerUnit))
}

// strategyRowParams are strategy parameters that add rows to the batches
// a strategy forwards (or stores per experience); the estimate counts them
// wherever they appear in the resolved parameters (wrapped strategies
// included).
var strategyRowParams = []string{"replay_batch_size", "ref_batch_size", "sample_size", "fisher_samples", "memory_per_exp"}

// EstimateMemory estimates what a run of cfg (resolved) on stream s
// allocates, with saturating arithmetic. It counts an MLP's parameters,
// gradients, optimizer state and a strategy's copies of them, the
// activations, gradients and sparse forms of a training batch (the batch
// size plus the rows the strategy parameters add), the strategy's memory
// slots, and per evaluation unit a model copy and its workspace.
func EstimateMemory(cfg *Config, s *streams.Stream) Memory {
	const f32 = 4
	in := int64(s.InputDim)
	// The model's arenas and per-row workspace, counted by nn without
	// building it (a model that does not fit is refused elsewhere).
	fp, _ := nn.Check(cfg.ModelSpec(s))
	params := satAdd(fp.Params, fp.State)
	acts := fp.RowValues / 2
	extraRows, slots := strategyRows(cfg.StrategyParams)
	T := int64(len(s.Experiences))
	rows := satAdd(int64(cfg.BatchSize), extraRows)
	var m Memory
	// Parameters, gradients, momentum, and up to 2 + 2T copies kept by
	// strategies (EWC's anchor and Fisher, SI's, GEM's per-experience
	// gradients, EMA's averages).
	m.Base = satMul(satMul(params, satAdd(5, satMul(2, T))), f32)
	// Batch rows: the driver's batch and the strategy's gathered copy,
	// activations and their gradients, and the sparse first-layer input
	// (values and indices, and its transpose).
	m.Base = satAdd(m.Base, satMul(satMul(rows, satMul(in, 2)), f32))
	m.Base = satAdd(m.Base, satMul(satMul(rows, satMul(acts, 2)), f32))
	m.Base = satAdd(m.Base, satMul(satMul(rows, in), 16))
	// Memory slots (replay memories hold references to samples).
	m.Base = satAdd(m.Base, satMul(slots, 16))
	// Threads of the training compute (packing buffers).
	m.PerUnit = satAdd(satMul(params, f32), satMul(satMul(taskRows, satAdd(in, satMul(acts, 2))), f32))
	m.PerUnit = satAdd(m.PerUnit, 4<<20)
	return m
}

// strategyRows returns the rows the strategy parameters add to a batch and
// the memory slots they ask for, from the resolved parameters (nested
// base_params included).
func strategyRows(raw json.RawMessage) (rows, slots int64) {
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return
		}
		for k, v := range m {
			var n float64
			if json.Unmarshal(v, &n) == nil && n > 0 {
				x := int64(min(n, math.MaxInt64/2))
				switch {
				case k == "mem_size":
					slots = satAdd(slots, x)
				case strings.HasSuffix(k, "_params"):
				default:
					for _, p := range strategyRowParams {
						if k == p {
							rows = satAdd(rows, x)
						}
					}
				}
			}
			if bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
				walk(v)
			}
		}
	}
	walk(raw)
	return rows, slots
}

// estimateStream estimates the bytes of the stream cfg describes before it
// is built: generators that transform the data (permutations, rotations,
// Gaussian domains) hold a copy per experience. base is the dataset the
// generator runs on (its samples and values per sample).
func estimateStream(cfg *Config, samples, dim int64, b benchmark) int64 {
	n := int64(cfg.numExperiences(b))
	per := satMul(samples, dim)
	switch b.generator {
	case "permuted", "rotated":
		return satMul(satMul(per, max(n, 1)), 4)
	case "gaussian":
		return satMul(satMul(per, max(n, 1)), 4)
	}
	return satMul(per, 4)
}

// CheckResources refuses, before anything is allocated, a configuration
// whose stream would exceed the memory of this machine (a permuted stream
// of many experiences holds a copy of the data per experience). It loads
// (and caches) the dataset the stream is built from.
func (d *Data) CheckResources(cfg *Config) error {
	b, ok := lookupBenchmark(cfg.Benchmark)
	if !ok {
		return invalid("benchmark %q: unknown", cfg.Benchmark)
	}
	var samples, dim int64
	switch {
	case b.dataset == "synthetic":
		sc := cfg.Synthetic.datasetConfig("", 1)
		if err := sc.Validate(); err != nil {
			return invalid("synthetic: %s", strings.TrimPrefix(err.Error(), "datasets: SyntheticConfig."))
		}
		classes, per, d := int64(10), int64(250), int64(64)
		if s := cfg.Synthetic; s != nil {
			if s.Classes > 0 {
				classes = int64(s.Classes)
			}
			if s.Dim > 0 {
				d = int64(s.Dim)
			}
			tr, te := int64(200), int64(50)
			if s.TrainPerClass > 0 {
				tr = int64(s.TrainPerClass)
			}
			if s.TestPerClass > 0 {
				te = int64(s.TestPerClass)
			}
			per = tr + te
		}
		samples, dim = satMul(classes, per), d
	case b.dataset != "":
		for _, k := range datasets.Known() {
			if k.Name == b.dataset {
				dim = 1
				for _, x := range k.Shape {
					dim *= int64(x)
				}
				samples = int64(k.TrainSize + k.TestSize)
			}
		}
	case b.generator == "mnist-fmnist":
		samples, dim = 140000, 784
	default:
		p, err := d.base(cfg, b)
		if err != nil {
			return err
		}
		samples, dim = int64(p.Train.Len()+p.Test.Len()), int64(p.Train.Dim())
	}
	need := estimateStream(cfg, samples, dim, b)
	return checkMemory(need, fmt.Sprintf("the stream (%d experiences of %d samples × %d values)", cfg.numExperiences(b), samples, dim))
}

// CheckRun refuses, before the run allocates anything, a configuration
// that would make more than MaxUpdates updates or whose estimated memory
// (EstimateMemory on threads threads, times workers runs at once) exceeds
// this machine's.
func CheckRun(cfg *Config, s *streams.Stream, threads, workers int) error {
	if err := checkUpdates(cfg, s); err != nil {
		return err
	}
	m := EstimateMemory(cfg, s)
	need := satMul(m.Total(threads), int64(max(workers, 1)))
	what := fmt.Sprintf("the model (%s on %d inputs, %d classes), batches of %d rows and %d threads", modelWords(cfg), s.InputDim, s.NumClasses, cfg.BatchSize, threads)
	if workers > 1 {
		what += fmt.Sprintf(", %d runs at once", workers)
	}
	return checkMemory(need, what)
}

// checkMemory refuses need bytes when they exceed the memory available to
// this process (MemoryLimit).
func checkMemory(need int64, what string) error {
	limit := MemoryLimit()
	if limit <= 0 || need <= limit {
		return nil
	}
	return invalid("%s would need about %s of memory, more than the %s this machine has: use smaller sizes", what, FormatBytes(need), FormatBytes(limit))
}

// MemoryLimit returns the memory this process may use: the physical memory
// (/proc/meminfo MemTotal), or the cgroup's limit when lower; 0 when
// unknown (nothing is refused then).
func MemoryLimit() int64 {
	var limit int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					limit = satMul(kb, 1024)
				}
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	return limit
}

// FormatBytes prints a byte count in binary units (e.g. "24 GiB").
func FormatBytes(n int64) string {
	if n == math.MaxInt64 {
		return "more than 8 EiB"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 || v >= 100 {
		return fmt.Sprintf("%.0f %s", v, units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// modelWords describes the model of cfg for messages: "hidden [400 400]"
// for an MLP, "resnet18r nf 20" and the like otherwise.
func modelWords(cfg *Config) string {
	switch cfg.ModelName() {
	case "mlp":
		return fmt.Sprintf("hidden %v", cfg.Hidden)
	case "resnet18r":
		nf := cfg.NF
		if nf == 0 {
			nf = nn.DefaultNF
		}
		return fmt.Sprintf("resnet18r nf %d", nf)
	}
	return cfg.ModelName()
}
