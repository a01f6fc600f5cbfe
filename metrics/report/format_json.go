package report

import (
	"encoding/json"
	"io"
	"math"
)

// jnum is a float64 that marshals NaN as null.
type jnum float64

func (v jnum) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if math.IsInf(f, 1) {
			return []byte(`"+Inf"`), nil
		}
		if math.IsInf(f, -1) {
			return []byte(`"-Inf"`), nil
		}
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// WriteJSON prints the report as one JSON object; values are in the
// metric's unit and undefined values are null.
func (r *Report) WriteJSON(w io.Writer) error {
	type jgroup struct {
		ID        int             `json:"id"`
		Label     string          `json:"label"`
		Key       string          `json:"config_group"`
		Strategy  string          `json:"strategy"`
		Benchmark string          `json:"benchmark"`
		Presets   []string        `json:"presets"`
		Runs      []int64         `json:"runs"`
		Seeds     []uint64        `json:"seeds"`
		Variants  []string        `json:"variants"`
		Config    json.RawMessage `json:"config"`
	}
	type jstat struct {
		Group   int    `json:"group"`
		Variant string `json:"variant"`
		Metric  string `json:"metric"`
		K       int    `json:"k"`
		J       int    `json:"j"`
		Unit    string `json:"unit"`
		N       int    `json:"n"`
		Nulls   int    `json:"nulls"`
		Mean    jnum   `json:"mean"`
		SD      jnum   `json:"sd"`
		Low     jnum   `json:"ci_low"`
		High    jnum   `json:"ci_high"`
	}
	type jrow struct {
		Variant  string `json:"variant"`
		Metric   string `json:"metric"`
		K        int    `json:"k"`
		J        int    `json:"j"`
		Unit     string `json:"unit"`
		N        int    `json:"n"`
		MeanDiff jnum   `json:"mean_diff"`
		SD       jnum   `json:"sd"`
		Low      jnum   `json:"ci_low"`
		High     jnum   `json:"ci_high"`
		T        jnum   `json:"t"`
		P        jnum   `json:"p"`
	}
	type jcomp struct {
		A     int      `json:"a"`
		B     int      `json:"b"`
		Seeds []uint64 `json:"seeds"`
		OnlyA []uint64 `json:"only_a"`
		OnlyB []uint64 `json:"only_b"`
		Rows  []jrow   `json:"rows"`
	}
	type jsucc struct {
		Group     int    `json:"group"`
		Criterion string `json:"criterion"`
		Successes int    `json:"successes"`
		N         int    `json:"n"`
		Nulls     int    `json:"nulls"`
		Fraction  jnum   `json:"fraction"`
		Low       jnum   `json:"ci_low"`
		High      jnum   `json:"ci_high"`
	}
	out := struct {
		DB          string    `json:"db"`
		CI          string    `json:"ci"`
		Groups      []jgroup  `json:"groups"`
		Skipped     []Skipped `json:"skipped"`
		Duplicates  []Skipped `json:"duplicates"`
		Stats       []jstat   `json:"stats"`
		Comparisons []jcomp   `json:"comparisons"`
		Success     []jsucc   `json:"success"`
	}{DB: r.Path, CI: r.CI.String(), Groups: []jgroup{}, Skipped: r.Skipped, Duplicates: r.Duplicates, Stats: []jstat{}, Comparisons: []jcomp{}, Success: []jsucc{}}
	if out.Skipped == nil {
		out.Skipped = []Skipped{}
	}
	if out.Duplicates == nil {
		out.Duplicates = []Skipped{}
	}
	for _, g := range r.Groups {
		out.Groups = append(out.Groups, jgroup{g.ID, g.Label, g.Key, g.Strategy, g.Benchmark, nonNil(g.Presets), g.RunIDs(), g.Seeds(), g.Variants, g.Config})
	}
	for _, s := range r.Stats {
		out.Stats = append(out.Stats, jstat{s.Group.ID, s.Variant, s.Name, s.K, s.J, Unit(s.Name), s.N, s.Nulls, jnum(s.Mean), jnum(s.SD), jnum(s.Low), jnum(s.High)})
	}
	for _, c := range r.Comparisons {
		jc := jcomp{A: c.A.ID, B: c.B.ID, Seeds: c.Seeds, OnlyA: nonNil(c.OnlyA), OnlyB: nonNil(c.OnlyB), Rows: []jrow{}}
		for _, cr := range c.Rows {
			jc.Rows = append(jc.Rows, jrow{cr.Variant, cr.Name, cr.K, cr.J, Unit(cr.Name), cr.N, jnum(cr.MeanDiff), jnum(cr.SD), jnum(cr.Low), jnum(cr.High), jnum(cr.T), jnum(cr.P)})
		}
		out.Comparisons = append(out.Comparisons, jc)
	}
	for _, s := range r.Success {
		out.Success = append(out.Success, jsucc{s.Group.ID, s.Criterion.Text, s.Successes, s.N, s.Nulls, jnum(s.P), jnum(s.Low), jnum(s.High)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
