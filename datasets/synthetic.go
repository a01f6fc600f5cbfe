package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SyntheticConfig configures Synthetic. Zero fields take the documented
// defaults.
type SyntheticConfig struct {
	Name          string  // dataset name prefix; "" means "synthetic"
	NumClasses    int     // number of classes, 1 to 1000; 0 means 10
	Dim           int     // values per sample (Shape is [Dim]), 1 to 1<<20; 0 means 64
	TrainPerClass int     // training samples per class; 0 means 200
	TestPerClass  int     // test samples per class; 0 means 50
	Noise         float64 // per-pixel standard deviation of each blob, in pixel levels (0–255), 0 to 128; 0 means 32
	Separation    float64 // typical distance between two class means, in units of Noise, 0 to 100; 0 means 8
	Seed          uint64  // seed of all random streams
}

func (c SyntheticConfig) withDefaults() SyntheticConfig {
	if c.Name == "" {
		c.Name = "synthetic"
	}
	if c.NumClasses == 0 {
		c.NumClasses = 10
	}
	if c.Dim == 0 {
		c.Dim = 64
	}
	if c.TrainPerClass == 0 {
		c.TrainPerClass = 200
	}
	if c.TestPerClass == 0 {
		c.TestPerClass = 50
	}
	if c.Noise == 0 {
		c.Noise = 32
	}
	if c.Separation == 0 {
		c.Separation = 8
	}
	return c
}

// Validate reports the first field out of range, after defaults apply.
func (c SyntheticConfig) Validate() error {
	c = c.withDefaults()
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("datasets: SyntheticConfig.%s = %v, want %s", field, v, allowed)
	}
	switch {
	case c.NumClasses < 1 || c.NumClasses > 1000:
		return bad("NumClasses", c.NumClasses, "1 to 1000 (0 for 10)")
	case c.Dim < 1 || c.Dim > 1<<20:
		return bad("Dim", c.Dim, "1 to 1048576 (0 for 64)")
	case c.TrainPerClass < 1 || c.TrainPerClass > 1<<24:
		return bad("TrainPerClass", c.TrainPerClass, "1 to 16777216 (0 for 200)")
	case c.TestPerClass < 1 || c.TestPerClass > 1<<24:
		return bad("TestPerClass", c.TestPerClass, "1 to 16777216 (0 for 50)")
	case !(c.Noise > 0 && c.Noise <= 128):
		return bad("Noise", c.Noise, "in (0, 128] (0 for 32)")
	case !(c.Separation > 0 && c.Separation <= 100):
		return bad("Separation", c.Separation, "in (0, 100] (0 for 8)")
	}
	n := int64(c.NumClasses) * int64(c.TrainPerClass+c.TestPerClass) * int64(c.Dim)
	if n > 1<<34 || n > math.MaxInt {
		return fmt.Errorf("datasets: SyntheticConfig: %d classes × %d samples × %d values = %d bytes, more than 16 GiB", c.NumClasses, c.TrainPerClass+c.TestPerClass, c.Dim, n)
	}
	return nil
}

// Random streams of Synthetic, one per purpose, so changing the test size
// leaves the class means and the training set unchanged.
const (
	streamMeans = 1 + iota
	streamTrain
	streamTest
)

// Synthetic returns NumClasses Gaussian blobs in Dim dimensions, quantized
// to uint8 pixels so that the same uint8 path as for images is exercised.
//
// Class c has mean 128 + a·z_c with z_c ~ N(0, I) and a = Separation·Noise/√(2·Dim),
// so that two class means lie about Separation·Noise pixel levels apart;
// a sample is its class mean plus N(0, Noise²) per value, rounded and
// clamped to [0, 255]. With the defaults the classes are almost linearly
// separable and a small MLP learns them in a few dozen iterations. Samples
// are shuffled (classes interleaved, as in MNIST). The same config gives the
// same bytes: every stream is rand.New(rand.NewPCG(Seed, stream)).
func Synthetic(cfg SyntheticConfig) (Pair, error) {
	if err := cfg.Validate(); err != nil {
		return Pair{}, err
	}
	c := cfg.withDefaults()
	rng := rand.New(rand.NewPCG(c.Seed, streamMeans))
	scale := c.Separation * c.Noise / math.Sqrt(2*float64(c.Dim))
	means := make([]float64, c.NumClasses*c.Dim)
	for i := range means {
		means[i] = 128 + scale*rng.NormFloat64()
	}
	split := func(suffix string, perClass int, stream uint64) *Dataset {
		rng := rand.New(rand.NewPCG(c.Seed, stream))
		n := perClass * c.NumClasses
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32(i % c.NumClasses)
		}
		rng.Shuffle(n, func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
		pixels := make([]uint8, n*c.Dim)
		for i, y := range labels {
			mu := means[int(y)*c.Dim : int(y+1)*c.Dim]
			row := pixels[i*c.Dim : (i+1)*c.Dim]
			for k, m := range mu {
				v := math.Round(m + c.Noise*rng.NormFloat64())
				row[k] = uint8(min(max(v, 0), 255))
			}
		}
		return &Dataset{
			Name:       c.Name + "/" + suffix,
			Shape:      []int{c.Dim},
			Pixels:     pixels,
			Labels:     labels,
			NumClasses: c.NumClasses,
		}
	}
	return Pair{Train: split("train", c.TrainPerClass, streamTrain), Test: split("test", c.TestPerClass, streamTest)}, nil
}

// SyntheticDomains returns n datasets of Gaussian blobs with the same
// classes whose means drift from one to the next: the synthetic
// domain-incremental stream with a controllable distance between tasks.
//
// Domain 1 has the class means of Synthetic(cfg). The class means of
// domain k+1 are those of domain k moved in a random direction: with z_{k,c}
// the standardised mean of class c in domain k (see Synthetic),
//
//	z_{k+1,c} = (1 − distance²)·z_{k,c} + distance·√(2 − distance²)·w_{k,c},  w ~ N(0, I),
//
// which keeps E|z|² fixed and makes E|z_{k+1,c} − z_{k,c}|² equal to
// distance²·E|z_c − z_{c'}|² for two classes c ≠ c' of one domain: distance
// is the expected shift of a class between consecutive domains in units of
// the typical distance between two classes, in [0, 1]. distance = 0 repeats
// domain 1's distribution (with new samples); distance = 1 makes
// consecutive domains independent. Each domain draws its own samples; the
// datasets are named "<name>/d<k>/train" and ".../test".
func SyntheticDomains(cfg SyntheticConfig, n int, distance float64) ([]Pair, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if n < 1 || n > 1000 {
		return nil, fmt.Errorf("datasets: SyntheticDomains: %d domains, want 1 to 1000", n)
	}
	if !(distance >= 0 && distance <= 1) {
		return nil, fmt.Errorf("datasets: SyntheticDomains: distance %v, want 0 to 1", distance)
	}
	c := cfg.withDefaults()
	rng := rand.New(rand.NewPCG(c.Seed, streamMeans))
	z := make([]float64, c.NumClasses*c.Dim)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	keep := 1 - distance*distance
	move := distance * math.Sqrt(2-distance*distance)
	scale := c.Separation * c.Noise / math.Sqrt(2*float64(c.Dim))
	out := make([]Pair, n)
	for k := range n {
		if k > 0 {
			drift := rand.New(rand.NewPCG(c.Seed, streamDrift+uint64(k)))
			for i := range z {
				z[i] = keep*z[i] + move*drift.NormFloat64()
			}
		}
		means := make([]float64, len(z))
		for i, v := range z {
			means[i] = 128 + scale*v
		}
		name := fmt.Sprintf("%s/d%d", c.Name, k+1)
		out[k] = Pair{
			Train: blobs(name+"/train", means, c, c.TrainPerClass, rand.New(rand.NewPCG(c.Seed, streamTrain+uint64(k)<<8))),
			Test:  blobs(name+"/test", means, c, c.TestPerClass, rand.New(rand.NewPCG(c.Seed, streamTest+uint64(k)<<8))),
		}
	}
	return out, nil
}

// streamDrift is the first random stream of the domain drifts.
const streamDrift = 1 << 20

// blobs draws perClass samples of each class around means, shuffled.
func blobs(name string, means []float64, c SyntheticConfig, perClass int, rng *rand.Rand) *Dataset {
	n := perClass * c.NumClasses
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(i % c.NumClasses)
	}
	rng.Shuffle(n, func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	pixels := make([]uint8, n*c.Dim)
	for i, y := range labels {
		mu := means[int(y)*c.Dim : int(y+1)*c.Dim]
		row := pixels[i*c.Dim : (i+1)*c.Dim]
		for k, m := range mu {
			v := math.Round(m + c.Noise*rng.NormFloat64())
			row[k] = uint8(min(max(v, 0), 255))
		}
	}
	return &Dataset{Name: name, Shape: []int{c.Dim}, Pixels: pixels, Labels: labels, NumClasses: c.NumClasses}
}
