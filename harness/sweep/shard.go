package sweep

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cleval/cleval/harness"
)

// MaxShards is the most shards a sweep may be cut into.
const MaxShards = maxRuns

// Shard is part I of N of a sweep (0 <= I < N).
type Shard struct{ I, N int }

// ParseShard parses "i/n" (0-based: a Slurm array task id or a Kubernetes
// completion index, and the number of tasks).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%w: shard %q: want i/n, e.g. 0/4", harness.ErrInvalid, s)
	}
	if n < 1 || n > MaxShards || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w: shard %q: need 0 <= i < n <= %d (shards are numbered from 0)", harness.ErrInvalid, s, MaxShards)
	}
	return Shard{I: i, N: n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Shard returns the runs of shard s: those whose Index is I modulo N. The
// partition depends only on the experiment file, so every task of a job
// array computes the same one; consecutive runs (which differ by seed or
// by the last axis) go to different shards, which balances their work.
func (p *Plan) Shard(s Shard) []Run {
	var out []Run
	for _, r := range p.Runs {
		if r.Index%s.N == s.I {
			out = append(out, r)
		}
	}
	return out
}
