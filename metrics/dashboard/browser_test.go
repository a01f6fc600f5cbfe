package dashboard

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

var screens = flag.String("screens", "", "save screenshots of the three views (PNG) in this directory")

// chromiumPath finds Debian's chromium; with CI set, a missing browser
// fails the test.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium; .ci/run installs it)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// browser starts headless chromium with a new empty profile.
func browser(t testing.TB) (context.Context, context.CancelFunc) {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	return ctx, func() { cancelB(); cancelA() }
}

// consoleErrors collects console errors, uncaught exceptions and browser
// log errors (CSP violations among them).
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleErrors) listen(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				c.mu.Lock()
				c.msgs = append(c.msgs, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m.Text))
				c.mu.Unlock()
			}
		}
	}()
}

func (c *consoleErrors) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

// waitJS polls a JavaScript condition until it is true.
func waitJS(ctx context.Context, expr string) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(8*time.Second)))
	return err
}

func eval[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

func screenshot(ctx context.Context, name string) error {
	if *screens == "" {
		return nil
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*screens, name+".png"), buf, 0o644)
}

// TestBrowser loads the runs view and the run view of a running and of a
// complete run, and the compare view, in headless chromium: the runs are
// listed, the charts render, a point written to the database appears on
// the running run's chart without a reload, and nothing is logged as an
// error.
func TestBrowser(t *testing.T) {
	f := newFixture(t)
	db, err := store.Open(f.path, store.Options{ReadOnly: true, Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(New(db, Options{Version: "test"}))
	defer srv.Close()

	ctx, cancel := browser(t)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()
	var errs consoleErrors
	errs.listen(ctx)
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v (browser console: %q)", what, err, errs.get())
		}
	}

	// Runs view: every run, the running one with its progress.
	check("runs view", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/#/runs")))
	check("runs view", waitJS(ctx, `document.querySelectorAll("#runs-table tbody tr").length === 8`))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#runs-table")))
	check("runs view", err)
	check("screenshot", screenshot(ctx, "runs"))
	for _, want := range []string{"naive", "er", "running", "complete", "interrupted", "exp 2/3", "[1] naive", "[2] er"} {
		if !strings.Contains(text, want) {
			t.Errorf("runs table lacks %q:\n%s", want, text)
		}
	}

	// The running run: the charts render; a new point appears without a reload.
	lr := f.running
	check("run view", chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/#/run/%d", srv.URL, lr.id))))
	check("run view", waitJS(ctx, `document.querySelector("#acc-chart")?.dataset.ready === "1" && document.querySelectorAll("#acc-chart canvas").length > 0 && document.querySelectorAll("#loss-chart canvas").length > 0`))
	_, err = eval[int](ctx, `window.__sameDocument = 1`)
	check("run view", err)
	last, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#last-iteration")))
	check("run view", err)
	if last != strconv.Itoa(lr.last) {
		t.Fatalf("the page shows last iteration %s, the database has %d", last, lr.last)
	}
	before, err := eval[int](ctx, `Number(document.querySelector("#acc-chart").dataset.points)`)
	check("run view", err)
	lr.add(t, lr.last+1)
	start := time.Now()
	check("the new evaluation point did not appear", waitJS(ctx, fmt.Sprintf(`document.querySelector("#last-iteration").textContent === "%d" && document.querySelector("#acc-chart").dataset.last === "%d"`, lr.last, lr.last)))
	t.Logf("new evaluation point drawn %v after it was committed", time.Since(start).Round(time.Millisecond))
	after, err := eval[int](ctx, `Number(document.querySelector("#acc-chart").dataset.points)`)
	check("run view", err)
	same, err := eval[int](ctx, `window.__sameDocument || 0`)
	check("run view", err)
	if same != 1 {
		t.Error("the page was reloaded to show the new point")
	}
	if after != before+1 {
		t.Errorf("chart points %d -> %d, want one more", before, after)
	}
	check("screenshot", screenshot(ctx, "run-live"))

	// The run completes: the page shows its stored gap metrics, still
	// without a reload.
	for lr.last < 3*liveIters {
		lr.add(t, lr.last+1)
	}
	if err := lr.w.End(metrics.RunComplete, nil); err != nil {
		t.Fatal(err)
	}
	check("the completed run's gaps did not appear", waitJS(ctx, `document.querySelectorAll("#gaps-table tbody tr").length === 3 && document.querySelector(".badge.complete") !== null`))
	if same, err := eval[int](ctx, `window.__sameDocument || 0`); err != nil || same != 1 {
		t.Errorf("the page was reloaded when the run completed (%v)", err)
	}

	// A complete run: troughs from the stored gap metrics, the matrix.
	check("complete run view", chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/#/run/%d", srv.URL, f.complete[3]))))
	check("complete run view", waitJS(ctx, `document.querySelector("#acc-chart")?.dataset.ready === "1" && document.querySelector("#gaps-table") !== null`))
	gaps, err := eval[int](ctx, `document.querySelectorAll("#gaps-table tbody tr").length`)
	check("complete run view", err)
	cells, err := eval[int](ctx, `document.querySelectorAll("#matrix-live td.cell").length`)
	check("complete run view", err)
	check("screenshot", screenshot(ctx, "run"))
	if gaps != 3 || cells != 12 {
		t.Errorf("complete run view: %d gap rows (want 3 transitions), %d matrix cells (want 4×3)", gaps, cells)
	}

	// Compare: the two groups with bands and the report with a paired test.
	check("compare view", chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/#/compare?groups=1,2&series=wc_acc&a=2&b=1")))
	check("compare view", waitJS(ctx, `document.querySelector("#compare-chart")?.dataset.ready === "1" && document.querySelector("#paired-table") !== null`))
	groups, err := eval[int](ctx, `document.querySelectorAll("#report-table thead th").length - 1`)
	check("compare view", err)
	paired, err := eval[int](ctx, `document.querySelectorAll("#paired-table tbody tr").length`)
	check("compare view", err)
	check("screenshot", screenshot(ctx, "compare"))
	if groups != 2 || paired == 0 {
		t.Errorf("compare view: %d groups in the report table (want 2), %d paired rows", groups, paired)
	}
	time.Sleep(100 * time.Millisecond) // let the last console messages arrive
	if e := errs.get(); len(e) > 0 {
		t.Errorf("the browser logged errors:\n%s", strings.Join(e, "\n"))
	}
}
