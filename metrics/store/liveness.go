package store

import (
	"context"
	"fmt"
	"time"

	"github.com/cleval/cleval/metrics"
)

// Liveness says whether the process running a run (status running) is
// alive.
type Liveness int

// Liveness of a running run.
const (
	// Alive: its process runs (on this machine), or its owner's heartbeat
	// is fresh (another machine).
	Alive Liveness = iota
	// Dead: its process is gone (the pid runs no more, or runs another
	// program; its owner is gone; or its heartbeat is older than the
	// lease).
	Dead
	// Unknown: a run written without a claim on another machine, whose
	// process cannot be looked at from here.
	Unknown
)

func (l Liveness) String() string {
	switch l {
	case Alive:
		return "alive"
	case Dead:
		return "dead"
	}
	return "unknown"
}

// RunLiveness is the liveness of one running run.
type RunLiveness struct {
	Liveness Liveness
	// Holder names the process ("pid 42 on node3").
	Holder string
}

// Running returns the liveness of every run whose status is running, by
// run id. lease is as in ClaimOptions (0: DefaultLease).
func (d *DB) Running(ctx context.Context, lease time.Duration) (map[int64]RunLiveness, error) {
	q := keyRowSelect + ` WHERE r.status = 'running' ORDER BY r.id`
	if d.version == 1 {
		q = `SELECT r.id, r.key, r.status, coalesce(r.error, ''), 0, r.host, r.pid, 0, '', '', 0, 0, '' FROM runs r WHERE r.status = 'running' ORDER BY r.id`
	}
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return nil, d.wrap("running runs", err)
	}
	krs, err := scanKeyRows(rows)
	if err != nil {
		return nil, d.wrap("running runs", err)
	}
	j := newJudge(lease)
	out := make(map[int64]RunLiveness, len(krs))
	for _, r := range krs {
		out[r.id] = j.liveness(r)
	}
	return out, nil
}

// liveness is alive with certainty: a run written without a claim on
// another host is Unknown rather than dead.
func (j judge) liveness(r keyRow) RunLiveness {
	alive, name := j.alive(r)
	switch {
	case alive:
		return RunLiveness{Alive, name}
	case !r.claimed && r.host != j.me.Host:
		return RunLiveness{Unknown, name}
	}
	return RunLiveness{Dead, name}
}

// PruneDead stores every run left running by a process that is gone
// (Running says Dead) as interrupted, with an error naming the process,
// and returns how many it changed. Their records are kept; a sweep redoes
// their keys.
func (d *DB) PruneDead(ctx context.Context, lease time.Duration) (int, error) {
	live, err := d.Running(ctx, lease)
	if err != nil {
		return 0, err
	}
	n := 0
	for id, l := range live {
		if l.Liveness != Dead {
			continue
		}
		res, err := d.db.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ? AND status = 'running'`,
			string(metrics.RunInterrupted), fmt.Sprintf("the process running it (%s) is gone", l.Holder), timestamp(time.Now()), id)
		if err != nil {
			return n, d.wrap("mark dead runs interrupted", err)
		}
		if k, err := res.RowsAffected(); err == nil {
			n += int(k)
		}
	}
	return n, nil
}
