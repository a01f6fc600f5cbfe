package dashboard

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/export"
	"github.com/cleval/cleval/metrics/internal/testdb"
	"github.com/cleval/cleval/metrics/store"
)

// testServer serves a fixture database, opened read-only.
func testServer(t *testing.T, opt Options) (*fixture, *store.DB, *httptest.Server) {
	t.Helper()
	f := newFixture(t)
	db, err := store.Open(f.path, store.Options{ReadOnly: true, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(New(db, opt))
	t.Cleanup(srv.Close)
	return f, db, srv
}

// get fetches path and decodes the JSON answer into v (when not nil); it
// returns the status.
func get(t *testing.T, srv *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return resp.StatusCode
}

func TestRunsEndpoint(t *testing.T) {
	t.Parallel()
	f, db, srv := testServer(t, Options{})
	var out RunsJSON
	if code := get(t, srv, "/api/runs", &out); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(out.Runs) != 8 {
		t.Fatalf("%d runs, want 8", len(out.Runs))
	}
	if len(out.Groups) != 2 || out.Groups[0].Label != "naive" || out.Groups[1].Label != "er" ||
		!slices.Equal(out.Groups[0].Seeds, []uint64{0, 1, 2}) || !slices.Equal(out.Groups[1].RunIDs, f.complete[3:]) {
		t.Errorf("groups %+v", out.Groups)
	}
	ctx := context.Background()
	for _, r := range out.Runs {
		switch {
		case slices.Contains(f.complete, r.ID):
			ms, err := db.Metrics(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.Variant == "live" && m.K == 0 && m.J == 0 && slices.Contains(KeyMetrics, m.Name) {
					if got := r.Metrics[m.Name]; got == nil || *got != m.Value {
						t.Errorf("run %d %s = %v, stored %v", r.ID, m.Name, got, m.Value)
					}
				}
			}
			want := 1
			if r.Strategy == "er" {
				want = 2
			}
			if r.Status != "complete" || r.Group != want || r.Experience != 3 || r.TotalIterations == nil || *r.TotalIterations != 36 {
				t.Errorf("complete run %+v", r)
			}
		case r.ID == f.interrupted:
			// Not in the group's statistics, but of its configuration.
			if r.Status != "interrupted" || r.Group != 2 || r.ETASeconds != nil || r.Metrics["acc"] != nil {
				t.Errorf("interrupted run %+v", r)
			}
		case r.ID == f.running.id:
			// 3 experiences of ceil(200/10) = 20 iterations; the first ended.
			if r.Status != "running" || r.Experience != 2 || r.Iterations != f.running.last ||
				r.TotalIterations == nil || *r.TotalIterations != 60 || r.ETASeconds == nil || r.ProcessGone {
				t.Errorf("running run %+v", r)
			}
		default:
			t.Errorf("unexpected run %d", r.ID)
		}
	}
	// Progress follows the writer.
	f.running.add(t, f.running.last+1)
	out = RunsJSON{}
	get(t, srv, "/api/runs", &out)
	for _, r := range out.Runs {
		if r.ID == f.running.id && r.Iterations != f.running.last {
			t.Errorf("running run at iteration %d after a new point, want %d", r.Iterations, f.running.last)
		}
	}
}

func TestEstimateTotal(t *testing.T) {
	t.Parallel()
	exps := []expRow{{1, 95, 10}, {2, 100, -1}, {3, 101, -1}}
	cases := []struct {
		cfg  string
		want int
		ok   bool
	}{
		{`{"epochs":2,"batch_size":10}`, 10 + 20 + 22, true},
		{`{"epochs":1,"batch_size":10,"repeat":3}`, 10 + 30 + 33, true},
		{`{"iterations":500,"epochs":1,"batch_size":10}`, 10 + 500 + 500, true},
		{`{}`, 0, false},
		{`not json`, 0, false},
	}
	for _, c := range cases {
		got, ok := estimateTotal(json.RawMessage(c.cfg), exps)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %d %v, want %d %v", c.cfg, got, ok, c.want, c.ok)
		}
	}
}

func TestRunEndpoint(t *testing.T) {
	t.Parallel()
	f, db, srv := testServer(t, Options{})
	id := f.complete[4]
	var out RunDetailJSON
	if code := get(t, srv, "/api/run?id="+itoa(id), &out); code != 200 {
		t.Fatalf("status %d", code)
	}
	if out.Run.ID != id || len(out.Experiences) != 3 || len(out.Matrices) != 2 {
		t.Fatalf("run %+v, %d experiences, %d matrices", out.Run, len(out.Experiences), len(out.Matrices))
	}
	for i, e := range out.Experiences {
		if *e.Start != 12*i || *e.End != 12*(i+1) {
			t.Errorf("experience %d: start %v end %v", e.Exp, *e.Start, *e.End)
		}
	}
	ctx := context.Background()
	mat, _ := db.Matrix(ctx, id, "live")
	for _, m := range mat {
		if got := out.Matrices[0].Acc[m.Row][m.Col-1]; got == nil || *got != m.Accuracy() {
			t.Errorf("R(%d,%d) = %v, want %v", m.Row, m.Col, got, m.Accuracy())
		}
	}
	// Every transition of both variants, placed on the curve: the trough is
	// the lowest accuracy of experience k in (e_{j-1}, e_j], at
	// e_{j-1} + time to trough, and depth = before - trough.
	if len(out.Gaps) != 6 {
		t.Fatalf("%d gaps, want 3 transitions x 2 variants", len(out.Gaps))
	}
	for _, g := range out.Gaps {
		evals, _ := db.Evaluations(ctx, id, g.Variant)
		lo, at, before := math.Inf(1), -1, math.NaN()
		for _, e := range evals {
			if e.Evaluated != g.K {
				continue
			}
			if e.Iteration == g.Boundary {
				before = e.Accuracy()
			}
			if e.Iteration > g.Boundary && e.Iteration <= g.Boundary+12 && e.Accuracy() < lo {
				lo, at = e.Accuracy(), e.Iteration
			}
		}
		if g.Trough == nil || *g.Trough != lo || *g.TroughIteration != at || *g.Before != before || math.Abs(*g.Depth-(before-lo)) > 1e-12 {
			t.Errorf("gap %+v: want trough %v at %d, before %v", g, lo, at, before)
		}
	}
	if len(out.MinACC) != 4 { // k = 1, 2 for two variants
		t.Errorf("min_acc %+v", out.MinACC)
	}
	if code := get(t, srv, "/api/run?id=999", nil); code != 404 {
		t.Errorf("unknown run: status %d, want 404", code)
	}
}

func itoa(id int64) string { return strings.TrimSpace(string(must(json.Marshal(id)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestSeriesEndpoint(t *testing.T) {
	t.Parallel()
	f, db, srv := testServer(t, Options{})
	ctx := context.Background()
	id := f.complete[3]
	var s SeriesJSON
	if code := get(t, srv, "/api/series?id="+itoa(id)+"&variants=live,ema0.99&width=800", &s); code != 200 {
		t.Fatalf("status %d", code)
	}
	// Every point, every experience, both kinds, both variants.
	if s.Downsampled || len(s.X) != 37 || len(s.Curves) != 12 || len(s.Y) != 12 || s.Range != [2]int{0, 36} || s.Last["live"] != 36 {
		t.Fatalf("series: downsampled %v, %d x, %d curves, range %v, last %v", s.Downsampled, len(s.X), len(s.Curves), s.Range, s.Last)
	}
	for i, c := range s.Curves {
		evals, _ := db.Evaluations(ctx, id, c.Variant)
		n := 0
		for _, e := range evals {
			if e.Evaluated != c.Exp {
				continue
			}
			n++
			p := slices.Index(s.X, e.Iteration)
			want := e.Accuracy()
			if c.Kind == "loss" {
				want = e.LossSum / float64(e.Total)
			}
			if p < 0 || s.Y[i][p] == nil || *s.Y[i][p] != want {
				t.Fatalf("%+v at %d: got %v, want %v", c, e.Iteration, s.Y[i][p], want)
			}
		}
		defined := 0
		for _, v := range s.Y[i] {
			if v != nil {
				defined++
			}
		}
		if defined != n {
			t.Errorf("%+v: %d points, %d records", c, defined, n)
		}
	}
	// Two pixel columns: at most 4 points each (+ none outside).
	s = SeriesJSON{}
	get(t, srv, "/api/series?id="+itoa(id)+"&width=2", &s)
	if !s.Downsampled || len(s.X) > 8*3 {
		t.Errorf("width 2: downsampled %v with %d x", s.Downsampled, len(s.X))
	}
	// A zoom: the range, plus the nearest points outside (experience 3
	// starts at 24).
	s = SeriesJSON{}
	get(t, srv, "/api/series?id="+itoa(id)+"&from=12&to=15&width=100", &s)
	if s.Range != [2]int{12, 15} || !slices.Equal(s.X, []int{11, 12, 13, 14, 15, 16, 24}) {
		t.Errorf("zoom: range %v x %v", s.Range, s.X)
	}

	// Live: the running run's new points, incrementally.
	lr := f.running
	s = SeriesJSON{}
	get(t, srv, "/api/series?id="+itoa(lr.id), &s)
	if s.Last["live"] != lr.last || s.Status != "running" {
		t.Fatalf("running run: last %v status %s, want %d", s.Last, s.Status, lr.last)
	}
	prev := lr.last
	lr.add(t, prev+1)
	lr.add(t, prev+2)
	s = SeriesJSON{}
	get(t, srv, "/api/series?id="+itoa(lr.id)+"&after="+itoa(int64(prev)), &s)
	if !slices.Equal(s.X, []int{prev + 1, prev + 2}) || s.Last["live"] != prev+2 {
		t.Errorf("after %d: x %v last %v", prev, s.X, s.Last)
	}
	acc2 := s.Y[1] // curve order: acc exp 1..3, loss exp 1..3
	if s.Curves[1] != (CurveJSON{"live", "acc", 2}) || acc2[1] == nil || *acc2[1] != math.Round(50*liveAcc(prev+2, 2))/50 {
		t.Errorf("after: curve %+v values %v", s.Curves[1], acc2)
	}
	// And the full curves hold them too.
	s = SeriesJSON{}
	get(t, srv, "/api/series?id="+itoa(lr.id), &s)
	if s.X[len(s.X)-1] != prev+2 || len(s.X) != prev+3 {
		t.Errorf("full after new points: %d x ending at %d", len(s.X), s.X[len(s.X)-1])
	}
}

func TestCompareEndpoint(t *testing.T) {
	t.Parallel()
	f, db, srv := testServer(t, Options{})
	ctx := context.Background()
	var out CompareJSON
	if code := get(t, srv, "/api/compare?groups=1,2&series=wc_acc&a=2&b=1", &out); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(out.Bands) != 2 || out.Bands[0].Group != 1 || out.Bands[1].Group != 2 {
		t.Fatalf("bands %+v", out.Bands)
	}
	// The naive band is the mean ± sd of the three seeds' WC-ACC series.
	var series [][]metrics.Point
	for _, id := range f.complete[:3] {
		r, _ := db.Run(ctx, id)
		in, err := db.Input(ctx, r, "live")
		if err != nil {
			t.Fatal(err)
		}
		s, err := metrics.WCACCSeries(in)
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, s)
	}
	b := out.Bands[0]
	if len(b.X) != len(series[0]) {
		t.Fatalf("%d points, want %d", len(b.X), len(series[0]))
	}
	for i, x := range b.X {
		var vals []float64
		for _, s := range series {
			vals = append(vals, s[i].Value)
		}
		sm := metrics.Summarize(vals)
		if x != series[0][i].T || math.Abs(*b.Mean[i]-sm.Mean) > 1e-12 || math.Abs(*b.Hi[i]-math.Min(1, sm.Mean+sm.SD)) > 1e-12 || b.N[i] != 3 {
			t.Fatalf("point %d: x %d mean %v hi %v n %d; want %d %v %v", i, x, *b.Mean[i], *b.Hi[i], b.N[i], series[0][i].T, sm.Mean, sm.Mean+sm.SD)
		}
	}
	// The report is cleval report's JSON, with the paired comparison.
	var rep struct {
		Groups      []struct{ ID int } `json:"groups"`
		Comparisons []struct {
			A, B  int
			Seeds []uint64
			Rows  []struct {
				Metric   string
				MeanDiff *float64 `json:"mean_diff"`
			}
		} `json:"comparisons"`
	}
	if err := json.Unmarshal(out.Report, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Groups) != 2 || len(rep.Comparisons) != 1 || !slices.Equal(rep.Comparisons[0].Seeds, []uint64{0, 1, 2}) || len(rep.Comparisons[0].Rows) == 0 {
		t.Errorf("report %+v", rep)
	}
	// Accuracy on one experience, over seeds.
	out = CompareJSON{}
	if code := get(t, srv, "/api/compare?groups=2&series=acc&exp=1&variant=ema0.99", &out); code != 200 || len(out.Bands) != 1 || len(out.Bands[0].X) == 0 {
		t.Errorf("acc exp 1: status %d, %+v", code, out.Bands)
	}
}

func TestExportAndReportLinks(t *testing.T) {
	t.Parallel()
	f, _, srv := testServer(t, Options{})
	resp, err := http.Get(srv.URL + "/export?runs=" + itoa(f.complete[0]) + "-" + itoa(f.complete[2]) + "&format=arrow")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: status %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
	}
	var want []string
	for _, tb := range export.Tables {
		want = append(want, tb+".arrow")
	}
	if !slices.Equal(names, want) {
		t.Errorf("export archive holds %v, want %v", names, want)
	}

	resp, err = http.Get(srv.URL + "/report?runs=1-6&a=er&b=naive")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<h1>cleval report</h1>") || !strings.Contains(string(body), "<svg") {
		t.Errorf("report: status %d\n%.300s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != reportCSP || strings.Contains(csp, "script") {
		t.Errorf("report CSP %q", csp)
	}
}

// Bad parameters get 400 and one clear message.
func TestBadParameters(t *testing.T) {
	t.Parallel()
	f, _, srv := testServer(t, Options{})
	run := itoa(f.complete[0])
	cases := []struct{ path, want string }{
		{"/api/runs?x=1", `unknown parameter "x"`},
		{"/api/run", "missing parameter id"},
		{"/api/run?id=abc", `id="abc": want a run id`},
		{"/api/run?id=0", "want a run id"},
		{"/api/run?id=1&id=2", `parameter "id" given 2 times`},
		{"/api/series?id=" + run + "&width=0", "width=0: must be in [1, 8192]"},
		{"/api/series?id=" + run + "&width=wide", `width="wide": not an integer`},
		{"/api/series?id=" + run + "&from=10&to=5", "to=5 is before from=10"},
		{"/api/series?id=" + run + "&from=-3", "from=-3: must be in"},
		{"/api/series?id=" + run + "&after=3&from=1", "takes no from= or to="},
		{"/api/series?id=" + run + "&variants=ema0.5", `has no variant "ema0.5"`},
		{"/api/series?id=" + run + "&color=red", `unknown parameter "color"`},
		{"/api/compare", "missing parameter groups"},
		{"/api/compare?groups=7", "groups: report: group 7: there are 2 groups"},
		{"/api/compare?groups=1&series=loss", `series="loss": must be one of`},
		{"/api/compare?groups=1&series=acc", "series=acc needs exp=K"},
		{"/api/compare?groups=1&series=acc&exp=9", "exp=9: run"},
		{"/api/compare?groups=1&exp=2", "exp= goes with series=acc only"},
		{"/api/compare?groups=1,2&a=1", "needs both a= and b="},
		{"/api/compare?groups=1,2&a=1&b=1", "name the same group"},
		{"/api/compare?groups=1&a=1&b=2", "must be among the groups shown"},
		{"/api/compare?groups=1&variant=ema0.99", `has no variant "ema0.99"`},
		{"/export", "missing parameter runs"},
		{"/export?runs=1&format=csv", `format="csv": must be parquet or arrow`},
		{"/export?runs=../../etc", `"../../etc" is not a run id`},
		{"/report?runs=" + itoa(f.interrupted), "none of these runs is complete"},
		{"/report?runs=1-6&a=1", "needs both a= and b="},
		{"/api/info?q=1", `unknown parameter "q"`},
	}
	for _, c := range cases {
		var e apiError
		code := get(t, srv, c.path, &e)
		if code != 400 || !strings.Contains(e.Error, c.want) {
			t.Errorf("GET %s: %d %q, want 400 with %q", c.path, code, e.Error, c.want)
		}
	}
	for _, p := range []string{"/api/series?id=999", "/export?runs=999", "/report?runs=999"} {
		var e apiError
		if code := get(t, srv, p, &e); code != 404 || !strings.Contains(e.Error, "999") {
			t.Errorf("GET %s: %d %q, want 404 naming the run", p, code, e.Error)
		}
	}
}

// The server only reads: writes are refused, and serving every endpoint
// leaves the database files as they were.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	f, _, srv := testServer(t, Options{})
	digest := func() [2][32]byte {
		var d [2][32]byte
		for i, ext := range []string{"", "-wal"} {
			b, err := os.ReadFile(f.path + ext)
			if err != nil {
				t.Fatal(err)
			}
			d[i] = sha256.Sum256(b)
		}
		return d
	}
	before := digest()
	for _, p := range []string{"/", "/api/info", "/api/runs", "/api/run?id=4", "/api/series?id=4&variants=live,ema0.99", "/api/series?id=8&after=3",
		"/api/compare?groups=1,2&a=1&b=2", "/export?runs=1-8", "/report?runs=1-6"} {
		if code := get(t, srv, p, nil); code != 200 {
			t.Errorf("GET %s: status %d", p, code)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequest(m, srv.URL+"/api/runs", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d, Allow %q; want 405", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if after := digest(); after != before {
		t.Error("the database files changed while the dashboard served")
	}
}

func TestTokenAndHost(t *testing.T) {
	t.Parallel()
	_, _, srv := testServer(t, Options{Token: "s3cret-token"})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/", "/api/runs", "/assets/app.js", "/export?runs=1", "/report?runs=1"} {
		if r := do(p, nil); r.StatusCode != 401 {
			t.Errorf("%s without the token: %d, want 401", p, r.StatusCode)
		}
		if r := do(p, map[string]string{"Authorization": "Bearer wrong"}); r.StatusCode != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", p, r.StatusCode)
		}
	}
	if r := do("/api/runs", map[string]string{"Authorization": "Bearer s3cret-token"}); r.StatusCode != 200 {
		t.Errorf("bearer token: %d", r.StatusCode)
	}
	if r := do("/api/runs?token=s3cret-token", nil); r.StatusCode != 200 {
		t.Errorf("token parameter on the API: %d", r.StatusCode)
	}
	if r := do("/api/runs?token=nope", nil); r.StatusCode != 401 {
		t.Errorf("wrong token parameter: %d", r.StatusCode)
	}
	// The page: the token in the address sets the cookie and is dropped.
	r := do("/?token=s3cret-token", nil)
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == TokenCookie {
			cookie = c
		}
	}
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("token in the page address: %d to %q, cookie %+v", r.StatusCode, r.Header.Get("Location"), cookie)
	}
	if r := do("/api/runs", map[string]string{"Cookie": TokenCookie + "=" + cookie.Value}); r.StatusCode != 200 {
		t.Errorf("cookie: %d", r.StatusCode)
	}
	// With a token any Host is served; without one only loopback names.
	if r := do("/api/runs", map[string]string{"Authorization": "Bearer s3cret-token", "Host": "lab.example.org:8080"}); r.StatusCode != 200 {
		t.Errorf("token and another host: %d", r.StatusCode)
	}
	_, _, open := testServer(t, Options{})
	for host, want := range map[string]int{"localhost:8080": 200, "127.0.0.1": 200, "[::1]:80": 200, "127.9.9.9:1": 200,
		"evil.example:8080": 403, "192.168.1.5:8080": 403, "localhost.evil.example": 403} {
		req, _ := http.NewRequest("GET", open.URL+"/api/info", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q without a token: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:0": true, "[::1]:9": true, "127.1.2.3:80": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.2:8080": false, "myhost:8080": false, "[::]:80": false} {
		got, err := IsLoopback(addr)
		if err != nil || got != want {
			t.Errorf("IsLoopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := IsLoopback("8080"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

// Every response carries the security headers; the page and its assets
// come from the binary and reference nothing elsewhere.
func TestAssetsAndHeaders(t *testing.T) {
	t.Parallel()
	_, _, srv := testServer(t, Options{})
	for _, p := range []string{"/", "/assets/app.js", "/assets/app.css", "/assets/uplot/uPlot.iife.min.js", "/assets/uplot/LICENSE", "/api/info", "/nope", "/assets/", "/assets/../server.go"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Security-Policy") != csp || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, resp.Header)
		}
		notFound := p == "/nope" || p == "/assets/" || p == "/assets/../server.go"
		if (resp.StatusCode == 404) != notFound {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
		if p == "/" || p == "/assets/app.js" {
			for _, bad := range []string{"http://", "https://", "<script>", "style=\""} {
				if strings.Contains(string(body), bad) {
					t.Errorf("%s contains %q: the page must load nothing from elsewhere and use no inline script or style", p, bad)
				}
			}
		}
	}
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
}

// A database replaced by another run while the page is open keeps working:
// the series cache is bounded.
func TestCacheBound(t *testing.T) {
	t.Parallel()
	c := newCache(100)
	for i := range 10 {
		key := itoa(int64(i))
		c.get(key, func() any { return i })
		c.resize(key, 30)
	}
	if c.size > 100 || len(c.items) != 3 {
		t.Errorf("cache size %d with %d items, want <= 100 and 3", c.size, len(c.items))
	}
	if _, ok := c.items["9"]; !ok {
		t.Error("the most recent item was evicted")
	}
	_ = time.Second
}

// A first read cut in ranges gives the same curves as one read, and
// curves downsampled in parallel the same answer.
func TestSplitRead(t *testing.T) {
	t.Parallel()
	f, db, srv := testServer(t, Options{})
	for _, parts := range []int{2, 3, 7} {
		split := httptest.NewServer(func() *Server {
			s := New(db, Options{})
			s.splitAbove, s.parts, s.parallelAbove = 5, parts, 1
			return s
		}())
		defer split.Close()
		for _, id := range []int64{f.complete[3], f.running.id} {
			for _, w := range []string{"3000", "7"} {
				q := "/api/series?id=" + itoa(id) + "&variants=live&width=" + w
				if id == f.complete[3] {
					q = "/api/series?id=" + itoa(id) + "&variants=live,ema0.99&width=" + w
				}
				var a, b SeriesJSON
				get(t, srv, q, &a)
				get(t, split, q, &b)
				ja, jb := must(json.Marshal(a)), must(json.Marshal(b))
				if !bytes.Equal(ja, jb) || len(a.X) < 20 || w == "7" && !a.Downsampled {
					t.Errorf("run %d, %d parts, width %s: split read differs (%d and %d points)", id, parts, w, len(a.X), len(b.X))
				}
			}
		}
	}
}

// The curves read hold, at each iteration with records, each experience's
// accuracy and mean loss (NaN where it has no record, or a record of no
// samples), whatever the number of ranges and however the slices grow.
func TestReadCurves(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "curves.db")
	ids, err := testdb.Write(path,
		testdb.Run{Preset: "p", Strategy: "naive", Experiences: 4, ItersPerExp: 150, Variants: []string{metrics.VariantLive, "ema0.9"}},
		testdb.Run{Preset: "p", Strategy: "naive", Seed: 1, Experiences: 2, ItersPerExp: 40})
	if err != nil {
		t.Fatal(err)
	}
	// Records of no samples, and of an experience outside the stream.
	rw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE evaluations SET total = 0, correct = 0 WHERE run_id = 1 AND iteration IN (5, 77, 300) AND eval_exp = 1`,
		`INSERT INTO evaluations SELECT run_id, variant, iteration, 9, training_exp, correct, total, loss_sum, subset FROM evaluations WHERE run_id = 1 AND eval_exp = 1 AND iteration % 50 = 3`,
		`DELETE FROM evaluations WHERE run_id = 1 AND iteration % 7 = 2`,
	} {
		if _, err := rw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rw.Close()
	db, err := store.Open(path, store.Options{ReadOnly: true, Conns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, id := range ids {
		run, err := db.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		T := run.NumExperiences
		for _, v := range run.Variants {
			evals, err := db.Evaluations(ctx, id, v)
			if err != nil {
				t.Fatal(err)
			}
			var its []int
			for _, e := range evals {
				if e.Evaluated >= 1 && e.Evaluated <= T && (len(its) == 0 || its[len(its)-1] != e.Iteration) {
					its = append(its, e.Iteration)
				}
			}
			for _, parts := range []int{1, 2, 3, 5} {
				s := New(db, Options{})
				s.splitAbove, s.parts = 10, parts
				rs, err := s.series(ctx, id, T, v)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(rs.its, its) || rs.last != its[len(its)-1] {
					t.Fatalf("run %d %s, %d parts: %d iterations (last %d), want %d", id, v, parts, len(rs.its), rs.last, len(its))
				}
				seen := 0
				for _, e := range evals {
					if e.Evaluated < 1 || e.Evaluated > T {
						continue
					}
					p := slices.Index(its, e.Iteration)
					acc, loss := rs.acc[e.Evaluated-1][p], rs.loss[e.Evaluated-1][p]
					if e.Total == 0 {
						if !math.IsNaN(acc) || !math.IsNaN(loss) {
							t.Fatalf("run %d %s: a record of no samples at %d drawn (%v, %v)", id, v, e.Iteration, acc, loss)
						}
						continue
					}
					if acc != e.Accuracy() || loss != e.LossSum/float64(e.Total) {
						t.Fatalf("run %d %s, exp %d at %d: %v %v, want %v %v", id, v, e.Evaluated, e.Iteration, acc, loss, e.Accuracy(), e.LossSum/float64(e.Total))
					}
					seen++
				}
				defined := 0
				for k := range T {
					if len(rs.acc[k]) != len(its) || len(rs.loss[k]) != len(its) {
						t.Fatalf("run %d %s: curve %d has %d and %d points, want %d", id, v, k+1, len(rs.acc[k]), len(rs.loss[k]), len(its))
					}
					for p := range its {
						if !math.IsNaN(rs.acc[k][p]) {
							defined++
						}
					}
				}
				if defined != seen {
					t.Errorf("run %d %s, %d parts: %d points, want %d", id, v, parts, defined, seen)
				}
				// Read with no idea of the size: the slices grow.
				for _, hint := range []int{0, 1, 100} {
					c, err := s.readRange(ctx, id, v, T, -1, math.MaxInt32, hint)
					if err != nil {
						t.Fatal(err)
					}
					same := func(a, b []float64) bool {
						return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
					}
					for k := range T {
						if !slices.Equal(c.its, rs.its) || !same(c.acc[k], rs.acc[k]) || !same(c.loss[k], rs.loss[k]) {
							t.Fatalf("run %d %s: a read with hint %d differs", id, v, hint)
						}
					}
				}
				rs.mu.Unlock()
			}
		}
	}
}

// A running run's ended transitions have their gap metrics already, equal
// to the ones stored when it completes.
func TestLiveGaps(t *testing.T) {
	t.Parallel()
	f, _, srv := testServer(t, Options{})
	lr := f.running
	path := "/api/run?id=" + itoa(lr.id)
	var out RunDetailJSON
	get(t, srv, path, &out)
	if !out.Live || len(out.Gaps) != 0 || len(out.Metrics) != 0 {
		t.Fatalf("running, no transition ended: live %v, %d gaps, %d metrics", out.Live, len(out.Gaps), len(out.Metrics))
	}
	for lr.last < 2*liveIters {
		lr.add(t, lr.last+1)
	}
	out = RunDetailJSON{}
	get(t, srv, path, &out)
	if !out.Live || len(out.Gaps) != 1 || out.Gaps[0].K != 1 || out.Gaps[0].J != 2 || out.Gaps[0].Depth == nil || out.Gaps[0].Trough == nil {
		t.Fatalf("after the transition 1→2 ended: live %v, gaps %+v", out.Live, out.Gaps)
	}
	liveGap := out.Gaps[0]
	for lr.last < 3*liveIters {
		lr.add(t, lr.last+1)
	}
	if err := lr.w.End(metrics.RunComplete, nil); err != nil {
		t.Fatal(err)
	}
	out = RunDetailJSON{}
	get(t, srv, path, &out)
	if out.Live || len(out.Gaps) != 3 || len(out.Metrics) == 0 {
		t.Fatalf("complete: live %v, %d gaps, %d metrics", out.Live, len(out.Gaps), len(out.Metrics))
	}
	stored := out.Gaps[0]
	if string(must(json.Marshal(stored))) != string(must(json.Marshal(liveGap))) {
		t.Errorf("gap 1→2 while running %s, stored %s", must(json.Marshal(liveGap)), must(json.Marshal(stored)))
	}
}

func TestInfoEndpoint(t *testing.T) {
	t.Parallel()
	f, _, srv := testServer(t, Options{Version: "v-test"})
	var info struct {
		DB        string         `json:"db"`
		Immutable bool           `json:"immutable"`
		Schema    int            `json:"schema"`
		Version   string         `json:"version"`
		Poll      map[string]int `json:"poll_ms"`
	}
	if code := get(t, srv, "/api/info", &info); code != 200 {
		t.Fatalf("status %d", code)
	}
	if info.DB != f.path || info.Immutable || info.Schema != store.SchemaVersion || info.Version != "v-test" || info.Poll["run"] != PollRun || info.Poll["runs"] != PollRuns {
		t.Errorf("info %+v", info)
	}
}

// The ranges of a parallel first read hold about as many records each,
// though later iterations have more (every seen experience is evaluated).
func TestReadDensity(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "split.db")
	ids, err := testdb.Write(path, testdb.Run{Preset: "p", Strategy: "naive", Experiences: 5, ItersPerExp: 1000})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s := New(db, Options{})
	count := func(after, upTo int) int {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM evaluations WHERE run_id = ? AND variant = 'live' AND iteration > ? AND iteration <= ?`, ids[0], after, upTo).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	total := count(-1, 5000)
	for _, parts := range []int{2, 3, 5, 8} {
		d, err := s.density(ctx, ids[0], metrics.VariantLive, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if p := d.points(); math.Abs(p-5001) > 50 {
			t.Errorf("%v points estimated, want about 5001", p)
		}
		cuts := d.cuts(parts)
		bounds := append(append([]int{-1}, cuts...), 5000)
		for i := range parts {
			if bounds[i+1] <= bounds[i] {
				t.Fatalf("%d parts: bounds %v not increasing", parts, bounds)
			}
			if n, want := count(bounds[i], bounds[i+1]), total/parts; math.Abs(float64(n-want)) > 0.1*float64(want) {
				t.Errorf("%d parts: range (%d, %d] holds %d records, want about %d", parts, bounds[i], bounds[i+1], n, want)
			}
		}
	}
	// A run evaluated every 10 iterations has a tenth of the points: the
	// slices are sized for them, not for every iteration.
	rw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.Exec(`DELETE FROM evaluations WHERE iteration % 10 != 0`); err != nil {
		t.Fatal(err)
	}
	d, err := s.density(ctx, ids[0], metrics.VariantLive, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if p := d.points(); math.Abs(p-501) > 10 {
		t.Errorf("every 10 iterations: %v points estimated, want about 501", p)
	}
}
