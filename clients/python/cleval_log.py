"""cleval_log: log continual-evaluation records from any Python training loop
for `cleval ingest`, which computes cleval's metrics from them (min-ACC,
WC-ACC, windowed forgetting, the stability gap, ACC, BWT, ... and confidence
intervals over seeds) and lets `cleval report` compare the runs with cleval's
own.

One file, standard library only (Python 3.8+): copy it next to your script.

    from cleval_log import CLevalLog

    with CLevalLog("er-seed0.jsonl", run="er-s0", strategy="er", seed=0,
                   benchmark="split-mnist", lr=0.01, mem_size=2000) as log:
        t = 0                                   # updates done so far
        log.eval(0, 1, 1, correct, total)       # the model before training
        for exp in range(1, T + 1):             # experiences 1..T
            for batch in stream[exp]:
                train_step(batch)
                t += 1
                for k in range(1, exp + 1):     # every experience seen so far
                    log.eval(t, exp, k, correct_on(k), total_on(k))
            for j in range(1, T + 1):           # the accuracy matrix row
                log.matrix(exp, j, correct_full(j), total_full(j))

    $ cleval ingest --db results.db er-seed0.jsonl
    $ cleval report --db results.db

Records (the format of cleval's docs/ingest.md; every line is one JSON object
with a "table" field):

- eval(iteration, training_exp, eval_exp, correct, total, variant="live",
  loss=None, subset=None): the model after `iteration` updates (0 = before
  any), while experience `training_exp` is trained, evaluated on experience
  `eval_exp`: `correct` of `total` samples right. `loss` is the mean loss
  over those samples; `subset` is "fixed" (a fixed evaluation subset, the
  default), "resampled" or "validation"; `variant` names another model
  evaluated alongside (e.g. an EMA copy: "ema0.99").
  Each evaluation point (an iteration) must evaluate every experience trained
  so far (1..training_exp); it may evaluate later ones too. Log at least at
  iteration 0 and at the last iteration of every experience: cleval takes the
  end of experience k to be the last iteration logged with training_exp k
  (or the one given with end_experience).
- matrix(row_exp, col_exp, correct, total, variant="live", loss=None): entry
  R(row_exp, col_exp) of the accuracy matrix: the model at the end of
  experience `row_exp` (0 = the initial model) on the full test set of
  experience `col_exp`.
- end_experience(exp, iteration, classes=None): the last iteration of
  experience `exp`, when the evaluations do not end there.

Experiences are numbered from 1 (pass exp_base=0 to number them from 0; the
initial model's matrix row is then -1). The constructor writes the run's
metadata: `run` names it (default: the file name without extension),
`strategy`, `benchmark` and `seed` are what cleval groups and pairs runs by,
and any other keyword (lr=0.01, mem_size=2000) is a configuration key: runs
that differ only in their seed form one group in reports. Several runs may
share a file (append=True) when each has its own `run` name.

Lines are written as they come (line-buffered), so a crashed run leaves every
record logged before the crash; cleval ingests complete runs only.
"""

import json
import math
import os

__all__ = ["CLevalLog"]
__version__ = "1"

_SUBSETS = ("fixed", "resampled", "validation")


def _count(name, v, minimum):
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        elif hasattr(v, "item"):  # a NumPy or PyTorch scalar
            return _count(name, v.item(), minimum)
        else:
            raise TypeError("cleval_log: %s must be an integer, got %r" % (name, v))
    if v < minimum:
        raise ValueError("cleval_log: %s = %d, must be >= %d" % (name, v, minimum))
    return v


def _number(name, v):
    if hasattr(v, "item"):
        v = v.item()
    v = float(v)
    if not math.isfinite(v):
        raise ValueError("cleval_log: %s = %r, must be finite" % (name, v))
    return v


class CLevalLog:
    """Writes one run's records as JSON Lines for `cleval ingest`."""

    def __init__(self, path, run=None, strategy=None, seed=None, benchmark=None,
                 exp_base=1, append=False, **config):
        if exp_base not in (0, 1):
            raise ValueError("cleval_log: exp_base must be 0 or 1")
        self.path = path
        self.run = str(run) if run is not None else os.path.splitext(os.path.basename(path))[0]
        self._shift = 1 - exp_base  # to cleval's numbering from 1
        self._f = open(path, "a" if append else "w", buffering=1, encoding="utf-8")
        meta = {"table": "runs", "run": self.run}
        if strategy is not None:
            meta["strategy"] = str(strategy)
        if benchmark is not None:
            meta["benchmark"] = str(benchmark)
        if seed is not None:
            meta["seed"] = _count("seed", seed, 0)
        for k, v in config.items():
            if k in meta or k == "table":
                raise ValueError("cleval_log: configuration key %r is reserved" % k)
            meta[k] = v
        self._write(meta)

    def _write(self, obj):
        if self._f is None:
            raise ValueError("cleval_log: the log is closed")
        self._f.write(json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n")

    def _exp(self, name, v, minimum=1):
        return _count(name, v, minimum - self._shift) + self._shift

    def eval(self, iteration, training_exp, eval_exp, correct, total, variant="live", loss=None, subset=None):
        """Logs the accuracy of the model after `iteration` updates on experience `eval_exp`."""
        total = _count("total", total, 1)
        correct = _count("correct", correct, 0)
        if correct > total:
            raise ValueError("cleval_log: correct = %d > total = %d" % (correct, total))
        rec = {"table": "evaluations", "run": self.run, "iteration": _count("iteration", iteration, 0),
               "training_exp": self._exp("training_exp", training_exp), "eval_exp": self._exp("eval_exp", eval_exp),
               "correct": correct, "total": total}
        if variant != "live":
            rec["variant"] = str(variant)
        if loss is not None:
            rec["loss"] = _number("loss", loss)
        if subset is not None:
            if subset not in _SUBSETS:
                raise ValueError("cleval_log: subset must be one of %s" % ", ".join(_SUBSETS))
            rec["subset"] = subset
        self._write(rec)

    def matrix(self, row_exp, col_exp, correct, total, variant="live", loss=None):
        """Logs R(row_exp, col_exp): the model at the end of experience row_exp on the test set of col_exp."""
        total = _count("total", total, 1)
        correct = _count("correct", correct, 0)
        if correct > total:
            raise ValueError("cleval_log: correct = %d > total = %d" % (correct, total))
        rec = {"table": "accuracy_matrix", "run": self.run, "row_exp": self._exp("row_exp", row_exp, 0),
               "col_exp": self._exp("col_exp", col_exp), "correct": correct, "total": total}
        if variant != "live":
            rec["variant"] = str(variant)
        if loss is not None:
            rec["loss"] = _number("loss", loss)
        self._write(rec)

    def end_experience(self, exp, iteration, classes=None):
        """Logs the last iteration (updates done) of experience `exp`."""
        rec = {"table": "experiences", "run": self.run, "exp": self._exp("exp", exp),
               "end_iteration": _count("iteration", iteration, 1)}
        if classes is not None:
            rec["classes"] = [_count("class", c, 0) for c in classes]
        self._write(rec)

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
