package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cleval/cleval/metrics"
)

// Claims let several processes (and the workers of one process) share the
// runs of a sweep without running a key twice, and let a sweep that starts
// again after a crash recognise the runs that died with their process.
//
// A process registers itself as an Owner (a random token with its host,
// boot id, pid and process start time) and keeps the owner's heartbeat
// fresh. A claimed writer's Begin decides, in the transaction that inserts
// the run, what the stored runs of the key say:
//
//   - a complete or diverged run exists: the key is done, nothing is run
//     (a diverged run is redone with RetryDiverged);
//   - a run is "running" in a live process: the key is busy, nothing is run;
//   - the last attempt failed: nothing is run unless RetryFailed is set;
//   - otherwise (no run, interrupted runs, failed runs being retried, runs
//     left "running" by a process that is gone) the partial runs of the key
//     are deleted and the new run is inserted with the owner's token.
//
// A process is alive when it runs on this host (same host name and boot id)
// with the recorded pid and start time; on another host when its heartbeat
// is younger than the lease. A unique index allows one claimed run per key
// that is running, complete or diverged, so no interleaving of processes
// stores two complete copies of a key.

// Errors callers branch on.
var (
	// ErrNotClaimed is returned (wrapped in a *ClaimError) by a claimed
	// writer's Begin when the key is done, busy or failed.
	ErrNotClaimed = errors.New("key not claimed")
	// ErrClaimLost is returned when a run was deleted or taken over by
	// another process (which judged this one dead) while it was running.
	ErrClaimLost = errors.New("the run was taken over by another process")
)

// DefaultLease is how long a process on another host is considered alive
// after its last heartbeat.
const DefaultLease = time.Minute

// HeartbeatEvery is how often a sweep refreshes its owner's heartbeat.
const HeartbeatEvery = 10 * time.Second

// Owner identifies a process that claims runs.
type Owner struct {
	Token  string
	Host   string
	BootID string
	PID    int
	// ProcStart is the process start time in clock ticks since boot
	// (Linux /proc/PID/stat), 0 where unknown.
	ProcStart int64
}

// ClaimOptions configures a claimed writer.
type ClaimOptions struct {
	Owner *Owner
	// RetryFailed redoes keys whose last attempt failed.
	RetryFailed bool
	// RetryDiverged redoes keys whose run diverged (otherwise done).
	RetryDiverged bool
	// Lease is how long an owner on another host stays alive after its
	// last heartbeat; zero means DefaultLease.
	Lease time.Duration
}

// State is what the stored runs of a key say about running it.
type State int

// States of a key.
const (
	// StateNew: no run of the key is stored.
	StateNew State = iota
	// StateDone: a complete or diverged run is stored.
	StateDone
	// StateBusy: a live process is running the key.
	StateBusy
	// StateFailed: the last attempt failed (redone only with RetryFailed).
	StateFailed
	// StateRedo: only interrupted runs, or runs left running by a process
	// that is gone: the key is redone from scratch.
	StateRedo
)

func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateDone:
		return "done"
	case StateBusy:
		return "busy"
	case StateFailed:
		return "failed"
	case StateRedo:
		return "redo"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// KeyState describes the stored runs of one key.
type KeyState struct {
	State State
	// RunID is the run the state comes from (0 for StateNew): the done,
	// busy or failed run, or the latest partial one.
	RunID  int64
	Status metrics.RunStatus
	// Holder says who runs a busy key ("pid 42 on node3").
	Holder string
	// Error is the error of a failed run.
	Error string
	// partial are the runs a claim deletes.
	partial []int64
}

// ToRun reports whether a sweep runs the key.
func (k KeyState) ToRun(retryFailed bool) bool {
	return k.State == StateNew || k.State == StateRedo || (k.State == StateFailed && retryFailed)
}

// ClaimError says why a claimed writer did not claim a key.
type ClaimError struct {
	Key   string
	State KeyState
}

func (e *ClaimError) Error() string {
	switch e.State.State {
	case StateDone:
		return fmt.Sprintf("store: key %s is done (run %d is %s)", e.Key, e.State.RunID, e.State.Status)
	case StateBusy:
		return fmt.Sprintf("store: key %s is being run by %s (run %d)", e.Key, e.State.Holder, e.State.RunID)
	case StateFailed:
		return fmt.Sprintf("store: key %s failed before (run %d); retry failed runs to redo it", e.Key, e.State.RunID)
	}
	return fmt.Sprintf("store: key %s not claimed (%s)", e.Key, e.State.State)
}

func (e *ClaimError) Unwrap() error { return ErrNotClaimed }

// NewClaimedRun returns a writer whose Begin claims the run's key for
// opts.Owner (see the package documentation of claims).
func (d *DB) NewClaimedRun(opts ClaimOptions) *RunWriter {
	if opts.Owner == nil {
		panic("store: NewClaimedRun without an owner")
	}
	w := d.NewRun()
	w.claim = &opts
	return w
}

// procStart returns the start time (clock ticks since boot) of process pid.
func procStart(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("store: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("store: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseInt(f[19], 10, 64)
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// thisProcess describes the current process (without a token).
func thisProcess() Owner {
	host, _ := os.Hostname()
	o := Owner{Host: host, BootID: bootID(), PID: os.Getpid()}
	o.ProcStart, _ = procStart(o.PID)
	return o
}

// processAlive reports whether process pid with start time start (0:
// unknown) runs on this machine.
func processAlive(pid int, start int64) (alive, certain bool) {
	if s, err := procStart(pid); err == nil {
		if start != 0 {
			return s == start, true
		}
		return true, false
	} else if os.IsNotExist(err) {
		return false, true
	}
	// No /proc: ask the kernel whether the pid exists.
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM), false
}

// RegisterOwner registers the current process as an owner of claims.
func (d *DB) RegisterOwner(ctx context.Context) (*Owner, error) {
	if d.version != SchemaVersion {
		return nil, fmt.Errorf("store: %s: claims need schema version %d, the file has %d", d.path, SchemaVersion, d.version)
	}
	o := thisProcess()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	o.Token = hex.EncodeToString(b[:])
	d.forgetDeadOwners(ctx, o)
	now := timestamp(time.Now())
	_, err := d.db.ExecContext(ctx, `INSERT INTO owners(token, host, boot_id, pid, proc_start, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		o.Token, o.Host, o.BootID, o.PID, o.ProcStart, now, now)
	if err != nil {
		return nil, d.wrap("register owner", err)
	}
	return &o, nil
}

// forgetDeadOwners deletes the owners of processes that are gone: on this
// machine, those whose pid no longer runs with its start time; elsewhere,
// those silent for a day. Their runs count as dead either way (a claim
// without an owner is dead): this only keeps the table small.
func (d *DB) forgetDeadOwners(ctx context.Context, me Owner) {
	rows, err := d.db.QueryContext(ctx, `SELECT token, host, boot_id, pid, proc_start, heartbeat_at FROM owners`)
	if err != nil {
		return
	}
	var dead []string
	day := judge{me: me, now: time.Now(), lease: 24 * time.Hour}
	for rows.Next() {
		var r keyRow
		var token string
		if rows.Scan(&token, &r.owner.Host, &r.owner.BootID, &r.owner.PID, &r.owner.ProcStart, &r.heartbeat) != nil {
			continue
		}
		r.claimed, r.hasOwner = true, true
		if alive, _ := day.alive(r); !alive {
			dead = append(dead, token)
		}
	}
	rows.Close()
	for _, t := range dead {
		d.db.ExecContext(ctx, `DELETE FROM owners WHERE token = ?`, t)
	}
}

// Heartbeat refreshes the owner's heartbeat.
func (d *DB) Heartbeat(ctx context.Context, o *Owner) error {
	_, err := d.db.ExecContext(ctx, `UPDATE owners SET heartbeat_at = ? WHERE token = ?`, timestamp(time.Now()), o.Token)
	return d.wrap("heartbeat", err)
}

// ReleaseOwner removes the owner (when its process ends cleanly). Runs it
// left running become redoable at once.
func (d *DB) ReleaseOwner(ctx context.Context, o *Owner) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM owners WHERE token = ?`, o.Token)
	return d.wrap("release owner", err)
}

// keyRow is a stored run of a key with its owner.
type keyRow struct {
	id        int64
	key       string
	status    metrics.RunStatus
	errMsg    string
	claimed   bool
	host      string
	pid       int
	hasOwner  bool
	owner     Owner
	heartbeat string
}

const keyRowSelect = `SELECT r.id, r.key, r.status, coalesce(r.error, ''), r.claim IS NOT NULL, r.host, r.pid,
	o.token IS NOT NULL, coalesce(o.host, ''), coalesce(o.boot_id, ''), coalesce(o.pid, 0), coalesce(o.proc_start, 0), coalesce(o.heartbeat_at, '')
	FROM runs r LEFT JOIN owners o ON o.token = r.claim`

func scanKeyRows(rows *sql.Rows) ([]keyRow, error) {
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		var status string
		if err := rows.Scan(&r.id, &r.key, &status, &r.errMsg, &r.claimed, &r.host, &r.pid,
			&r.hasOwner, &r.owner.Host, &r.owner.BootID, &r.owner.PID, &r.owner.ProcStart, &r.heartbeat); err != nil {
			return nil, err
		}
		r.status = metrics.RunStatus(status)
		out = append(out, r)
	}
	return out, rows.Err()
}

// judge tells live owners from dead ones.
type judge struct {
	me    Owner
	now   time.Time
	lease time.Duration
	// retryDiverged counts diverged runs as partial (to be redone).
	retryDiverged bool
}

func newJudge(lease time.Duration) judge {
	if lease <= 0 {
		lease = DefaultLease
	}
	return judge{me: thisProcess(), now: time.Now(), lease: lease}
}

// alive reports whether the process holding a running row is alive, and
// names it.
func (j judge) alive(r keyRow) (bool, string) {
	if !r.claimed {
		// Written without a claim (cleval run): only host and pid are
		// known. On this host, the pid decides; elsewhere it cannot be
		// told, and the run is taken as dead rather than blocking
		// resumes forever.
		name := fmt.Sprintf("pid %d on %s", r.pid, r.host)
		if r.host == j.me.Host {
			a, _ := processAlive(r.pid, 0)
			return a && r.pid != j.me.PID, name
		}
		return false, name
	}
	if !r.hasOwner {
		return false, "a process that ended"
	}
	o := r.owner
	name := fmt.Sprintf("pid %d on %s", o.PID, o.Host)
	if o.Host == j.me.Host && o.BootID == j.me.BootID && o.BootID != "" {
		if o.PID == j.me.PID && o.ProcStart == j.me.ProcStart {
			return true, name + " (this process)"
		}
		a, certain := processAlive(o.PID, o.ProcStart)
		if certain || !a {
			return a, name
		}
	}
	hb, err := time.Parse(time.RFC3339Nano, r.heartbeat)
	return err == nil && j.now.Sub(hb) < j.lease, name
}

// classify turns the stored runs of one key into its state.
func (j judge) classify(rows []keyRow) KeyState {
	var st KeyState
	var failed, busy *keyRow
	for i := range rows {
		r := &rows[i]
		if r.status == metrics.RunDiverged && j.retryDiverged {
			st.partial = append(st.partial, r.id)
			continue
		}
		switch r.status {
		case metrics.RunComplete, metrics.RunDiverged:
			if st.State != StateDone {
				st = KeyState{State: StateDone, RunID: r.id, Status: r.status}
			}
		case metrics.RunRunning:
			if a, name := j.alive(*r); a {
				if busy == nil {
					busy = r
					st.Holder = name
				}
				continue
			}
			st.partial = append(st.partial, r.id)
		case metrics.RunFailed:
			failed = r
			st.partial = append(st.partial, r.id)
		default: // interrupted
			st.partial = append(st.partial, r.id)
		}
	}
	switch {
	case st.State == StateDone:
		st.partial = nil
	case busy != nil:
		st = KeyState{State: StateBusy, RunID: busy.id, Status: busy.status, Holder: st.Holder}
	case failed != nil:
		st.State, st.RunID, st.Status, st.Error = StateFailed, failed.id, failed.status, failed.errMsg
	case len(st.partial) > 0:
		st.State, st.RunID, st.Status = StateRedo, rows[len(rows)-1].id, rows[len(rows)-1].status
	}
	return st
}

// KeyStates returns the state of every key in keys (StateNew for keys
// without runs). lease is as in ClaimOptions.
func (d *DB) KeyStates(ctx context.Context, keys []string, lease time.Duration) (map[string]KeyState, error) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var all []keyRow
	if d.version == 1 || len(keys) > 32 {
		// Many keys: one scan of the table.
		q := keyRowSelect + ` ORDER BY r.id`
		if d.version == 1 {
			q = `SELECT r.id, r.key, r.status, coalesce(r.error, ''), 0, r.host, r.pid, 0, '', '', 0, 0, '' FROM runs r ORDER BY r.id`
		}
		rows, err := d.db.QueryContext(ctx, q)
		if err != nil {
			return nil, d.wrap("key states", err)
		}
		if all, err = scanKeyRows(rows); err != nil {
			return nil, d.wrap("key states", err)
		}
	} else {
		// A few keys (a worker looking again before a run): the index.
		for _, k := range keys {
			rows, err := d.db.QueryContext(ctx, keyRowSelect+` WHERE r.key = ? ORDER BY r.id`, k)
			if err != nil {
				return nil, d.wrap("key states", err)
			}
			krs, err := scanKeyRows(rows)
			if err != nil {
				return nil, d.wrap("key states", err)
			}
			all = append(all, krs...)
		}
	}
	byKey := map[string][]keyRow{}
	for _, r := range all {
		if want[r.key] {
			byKey[r.key] = append(byKey[r.key], r)
		}
	}
	j := newJudge(lease)
	out := make(map[string]KeyState, len(keys))
	for _, k := range keys {
		out[k] = j.classify(byKey[k])
	}
	return out, nil
}

// claimTx claims key inside tx or returns a *ClaimError.
func (d *DB) claimTx(ctx context.Context, tx *sql.Tx, key string, opts ClaimOptions) error {
	rows, err := tx.QueryContext(ctx, keyRowSelect+` WHERE r.key = ? ORDER BY r.id`, key)
	if err != nil {
		return d.wrap("claim run", err)
	}
	krs, err := scanKeyRows(rows)
	if err != nil {
		return d.wrap("claim run", err)
	}
	j := newJudge(opts.Lease)
	j.retryDiverged = opts.RetryDiverged
	st := j.classify(krs)
	if !st.ToRun(opts.RetryFailed) {
		return &ClaimError{Key: key, State: st}
	}
	for _, id := range st.partial {
		if _, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id = ?`, id); err != nil {
			return d.wrap("claim run: delete partial run", err)
		}
	}
	return nil
}
