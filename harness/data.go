package harness

import (
	"fmt"
	"sync"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/streams"
)

// Data locates and caches the datasets runs are built from, so that the
// runs of a sweep load each dataset once.
type Data struct {
	// Locate says where to look for datasets (explicit directory, optional
	// download).
	Locate datasets.LocateOptions

	mu    sync.Mutex
	cache map[string]datasets.Pair
}

func (d *Data) load(name string) (datasets.Pair, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.cache[name]; ok {
		return p, nil
	}
	var (
		p   datasets.Pair
		err error
	)
	switch name {
	case "mnist", "fashion-mnist":
		p, err = datasets.Load(name, d.Locate)
	case "synthetic":
		p, err = datasets.Synthetic(datasets.SyntheticConfig{Seed: 1, Separation: 40})
	default:
		err = fmt.Errorf("harness: no dataset %q", name)
	}
	if err != nil {
		return datasets.Pair{}, err
	}
	if d.cache == nil {
		d.cache = map[string]datasets.Pair{}
	}
	d.cache[name] = p
	return p, nil
}

// Stream builds the stream a configuration describes.
func (d *Data) Stream(cfg *Config) (*streams.Stream, error) {
	var dataset string
	switch cfg.Benchmark {
	case "split-mnist":
		dataset = "mnist"
	case "split-fmnist":
		dataset = "fashion-mnist"
	case "split-synthetic":
		dataset = "synthetic"
	default:
		return nil, invalid("benchmark %q: unknown", cfg.Benchmark)
	}
	p, err := d.load(dataset)
	if err != nil {
		return nil, err
	}
	s, err := streams.SplitClasses(p, streams.SplitConfig{
		Name:           cfg.Benchmark,
		NumExperiences: cfg.Experiences,
		ClassOrder:     cfg.ClassOrder,
		PermuteClasses: cfg.PermuteClasses,
		Seed:           cfg.Seed,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, nil
}
