package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// Run is a complete run with its stored metrics.
type Run struct {
	store.Run
	Metrics []store.Metric
}

// Group is a set of complete runs that share their configuration apart
// from the seed (metrics.ConfigGroup), one run per seed.
type Group struct {
	// ID numbers the groups from 1 in the order of their first run id.
	ID int
	// Key is the configuration hash (metrics.ConfigGroup), also the
	// config_group column of the export.
	Key string
	// Label names the group for people: its strategy and the
	// configuration fields that tell it apart from the other groups.
	Label string
	// Config is the canonical configuration without seed and preset.
	Config    json.RawMessage
	Strategy  string
	Benchmark string
	// Presets are the distinct preset names of the runs (informative).
	Presets []string
	// Runs are sorted by seed.
	Runs []Run
	// Variants are the model variants of the runs, live first.
	Variants []string
	// Ingested is set when every run of the group was stored by cleval
	// ingest (made by another tool).
	Ingested bool
}

// Seeds returns the seeds of the group's runs, sorted.
func (g *Group) Seeds() []uint64 {
	out := make([]uint64, len(g.Runs))
	for i, r := range g.Runs {
		out[i] = r.Seed
	}
	return out
}

// RunIDs returns the ids of the group's runs in seed order.
func (g *Group) RunIDs() []int64 {
	out := make([]int64, len(g.Runs))
	for i, r := range g.Runs {
		out[i] = r.ID
	}
	return out
}

// Name returns "[ID] Label".
func (g *Group) Name() string { return fmt.Sprintf("[%d] %s", g.ID, g.Label) }

// Skipped is a run left out of the aggregation, and why.
type Skipped struct {
	ID     int64
	Seed   uint64
	Status metrics.RunStatus
	Reason string
}

// Set is the runs of a database grouped by configuration.
type Set struct {
	// Path is the database file.
	Path   string
	Groups []*Group
	// Skipped are selected runs that are not complete.
	Skipped []Skipped
	// Duplicates are complete runs of a configuration and seed that
	// another, later run of the group already covers (same configuration
	// and seed give identical records, so counting both would double a
	// sample).
	Duplicates []Skipped
	// Reference is the group the gap measures are relative to, nil without
	// AddReference; Extra are the names of run-level metrics computed at
	// load time beyond the stored ones (the reference gaps).
	Reference *Group
	Extra     []string
}

// Load reads the runs f selects and groups the complete ones by
// configuration. Runs that are not complete are listed in Skipped with the
// reason.
func Load(ctx context.Context, db *store.DB, f store.RunFilter) (*Set, error) {
	runs, err := db.SelectRuns(ctx, f)
	if err != nil {
		return nil, err
	}
	ingested, err := db.IngestedRuns(ctx)
	if err != nil {
		return nil, err
	}
	set := &Set{Path: db.Path()}
	byKey := map[string]*Group{}
	for _, r := range runs {
		if r.Status != metrics.RunComplete {
			reason := string(r.Status)
			switch r.Status {
			case metrics.RunRunning:
				reason = "running (or its process died)"
			case metrics.RunDiverged:
				reason = "diverged (non-finite loss)"
			}
			if r.Error != "" && r.Status != metrics.RunDiverged {
				reason += ": " + r.Error
			}
			set.Skipped = append(set.Skipped, Skipped{ID: r.ID, Seed: r.Seed, Status: r.Status, Reason: reason})
			continue
		}
		key, canon, err := metrics.ConfigGroup(r.Config)
		if err != nil {
			return nil, fmt.Errorf("report: run %d: %w", r.ID, err)
		}
		g := byKey[key]
		if g == nil {
			g = &Group{Key: key, Config: canon, Strategy: r.Strategy, Benchmark: r.Benchmark, Ingested: true}
			byKey[key] = g
			set.Groups = append(set.Groups, g)
		}
		g.Ingested = g.Ingested && ingested[r.ID]
		ms, err := db.Metrics(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		// Runs come in id order: a later run of the same seed replaces an
		// earlier one.
		if i := slices.IndexFunc(g.Runs, func(x Run) bool { return x.Seed == r.Seed }); i >= 0 {
			old := g.Runs[i]
			set.Duplicates = append(set.Duplicates, Skipped{ID: old.ID, Seed: old.Seed, Status: old.Status,
				Reason: fmt.Sprintf("same configuration and seed as run %d", r.ID)})
			g.Runs[i] = Run{Run: r, Metrics: ms}
		} else {
			g.Runs = append(g.Runs, Run{Run: r, Metrics: ms})
		}
		if r.Preset != "" && !slices.Contains(g.Presets, r.Preset) {
			g.Presets = append(g.Presets, r.Preset)
		}
		for _, v := range r.Variants {
			if !slices.Contains(g.Variants, v) {
				g.Variants = append(g.Variants, v)
			}
		}
	}
	for i, g := range set.Groups {
		g.ID = i + 1
		slices.SortFunc(g.Runs, func(a, b Run) int { return cmp.Compare(a.Seed, b.Seed) })
		slices.SortStableFunc(g.Variants, func(a, b string) int {
			return cmp.Compare(rank(a), rank(b)) // live first
		})
	}
	slices.SortFunc(set.Duplicates, func(a, b Skipped) int { return cmp.Compare(a.ID, b.ID) })
	labelGroups(set.Groups)
	return set, nil
}

// rank orders the live variant before the others.
func rank(variant string) int {
	if variant == metrics.VariantLive {
		return 0
	}
	return 1
}

// Find returns the group that ref names: its number ("2" or "[2]"), a
// prefix (>= 4 characters) of its configuration hash, its label, or a
// strategy or preset name that exactly one group has.
func (s *Set) Find(ref string) (*Group, error) {
	r := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ref), "["), "]")
	if n, err := strconv.Atoi(r); err == nil {
		if n >= 1 && n <= len(s.Groups) {
			return s.Groups[n-1], nil
		}
		return nil, fmt.Errorf("report: group %s: there are %d groups%s", ref, len(s.Groups), s.groupList())
	}
	for _, try := range []func(g *Group) bool{
		func(g *Group) bool { return g.Label == r },
		func(g *Group) bool { return len(r) >= 4 && strings.HasPrefix(g.Key, r) },
		func(g *Group) bool { return g.Strategy == r },
		func(g *Group) bool { return slices.Contains(g.Presets, r) },
	} {
		var found []*Group
		for _, g := range s.Groups {
			if try(g) {
				found = append(found, g)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 0:
			continue
		default:
			return nil, fmt.Errorf("report: %q matches %d groups; name one by its number%s", ref, len(found), s.groupList())
		}
	}
	return nil, fmt.Errorf("report: no group matches %q%s", ref, s.groupList())
}

func (s *Set) groupList() string {
	if len(s.Groups) == 0 {
		return " (no complete runs)"
	}
	var b strings.Builder
	b.WriteString("; groups:")
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "\n  %s  (config %s, seeds %s)", g.Name(), g.Key, joinSeeds(g.Seeds()))
	}
	return b.String()
}

func joinSeeds(seeds []uint64) string {
	parts := make([]string, len(seeds))
	for i, s := range seeds {
		parts[i] = strconv.FormatUint(s, 10)
	}
	return strings.Join(parts, ",")
}

// flatten maps every leaf of a JSON value to its dotted path; arrays are
// leaves (their JSON text).
func flatten(prefix string, v any, out map[string]string) {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x, out)
		}
		return
	}
	b, _ := json.Marshal(v)
	out[prefix] = string(b)
}

// labelGroups names each group by its strategy and, when several groups
// share that strategy, the configuration fields whose values differ
// between them (dotted paths shortened: "lr" for optimizer.lr, "mem_size"
// for strategy_params.mem_size). Ingested groups (runs made elsewhere,
// whose configuration is the metadata they were given) are compared with
// the ingested groups only, and named apart from native groups of the
// same strategy by their keys that no such native group has (e.g.
// "er framework=pytorch"), or "(ingested)" when they have none.
func labelGroups(groups []*Group) {
	flat := make([]map[string]string, len(groups))
	for i, g := range groups {
		var v any
		d := json.NewDecoder(bytes.NewReader(g.Config))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			v = nil
		}
		flat[i] = map[string]string{}
		flatten("", v, flat[i])
	}
	for i, g := range groups {
		paths := map[string]bool{}
		var same []int // groups of the same strategy, g included
		for j, h := range groups {
			if h.Strategy == g.Strategy && h.Ingested == g.Ingested {
				same = append(same, j)
				for p := range flat[j] {
					paths[p] = true
				}
			}
		}
		var diff []string
		for p := range paths {
			differs := false
			for _, j := range same {
				v, ok := flat[j][p]
				w, ok2 := flat[same[0]][p]
				differs = differs || v != w || ok != ok2
			}
			if !differs {
				continue
			}
			name := strings.TrimPrefix(strings.TrimPrefix(p, "strategy_params."), "optimizer.")
			if v, ok := flat[i][p]; ok {
				diff = append(diff, name+"="+strings.Trim(v, `"`))
			} else {
				diff = append(diff, name+"=∅")
			}
		}
		sort.Strings(diff)
		g.Label = g.Strategy
		if len(diff) > 0 {
			g.Label += " " + strings.Join(diff, " ")
		}
		if g.Ingested {
			g.Label += ingestedSuffix(i, groups, flat)
		}
	}
}

// ingestedSuffix tells ingested group i apart from the native groups of
// its strategy: its own configuration keys (at most three, besides the
// strategy, benchmark, seed and preset) that none of them has.
func ingestedSuffix(i int, groups []*Group, flat []map[string]string) string {
	var native []int
	for j, h := range groups {
		if !h.Ingested && h.Strategy == groups[i].Strategy {
			native = append(native, j)
		}
	}
	if len(native) == 0 {
		return ""
	}
	var own []string
	for p, v := range flat[i] {
		if p == "strategy" || p == "benchmark" || p == "seed" || p == "preset" {
			continue
		}
		shared := false
		for _, j := range native {
			_, ok := flat[j][p]
			shared = shared || ok
		}
		if !shared && !strings.HasPrefix(v, "{") && !strings.HasPrefix(v, "[") {
			own = append(own, p+"="+strings.Trim(v, `"`))
		}
	}
	sort.Strings(own)
	if len(own) == 0 || len(own) > 3 {
		return " (ingested)"
	}
	return " " + strings.Join(own, " ")
}
