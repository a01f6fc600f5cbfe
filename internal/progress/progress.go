// Package progress draws a one-line progress bar on a terminal. It writes
// nothing when its output is not a terminal or when it is disabled, so
// redirected output and --quiet stay clean.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// Bar is a throttled single-line progress display.
type Bar struct {
	w       io.Writer
	enabled bool
	start   time.Time
	last    time.Time
	width   int
	drawn   bool
}

// New returns a bar on w, enabled only when w is a terminal and quiet is
// false.
func New(w io.Writer, quiet bool) *Bar {
	enabled := false
	if f, ok := w.(*os.File); ok && !quiet {
		enabled = isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	return &Bar{w: w, enabled: enabled, width: 24}
}

// Enabled reports whether the bar draws anything.
func (b *Bar) Enabled() bool { return b.enabled }

// Start resets the clock for a new task.
func (b *Bar) Start() {
	b.start = time.Now()
	b.last = time.Time{}
}

// Update redraws the bar at most ten times a second (always when done ==
// total): label, a bar for done/total, the rate and the remaining time,
// then detail.
func (b *Bar) Update(label string, done, total int, detail string) {
	if !b.enabled {
		return
	}
	now := time.Now()
	if done < total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	fill := int(frac * float64(b.width))
	bar := strings.Repeat("█", fill) + strings.Repeat("░", b.width-fill)
	el := now.Sub(b.start)
	rate, eta := "", ""
	if done > 0 && el > 0 {
		r := float64(done) / el.Seconds()
		rate = fmt.Sprintf("%.0f it/s", r)
		rem := time.Duration(float64(total-done) / r * float64(time.Second))
		eta = "ETA " + rem.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r\033[K%s %s %d/%d %s %s %s", label, bar, done, total, rate, eta, detail)
	b.drawn = true
}

// Done ends the line.
func (b *Bar) Done() {
	if b.enabled && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}
