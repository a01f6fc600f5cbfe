#!/usr/bin/env python3
"""PyTorch side of the speed comparison of nn's BenchmarkResNetTrainStep and
BenchmarkResNetInfer: the reduced ResNet-18 (nf 20) on 1x28x28 inputs, 10 classes.

  train: one update of the replay workload: 32 new + 32 replayed rows forwarded
         separately (two batch-norm groups), loss 0.5*CE + 0.5*CE, backward,
         SGD (lr 0.05, momentum 0.9);
  infer: an evaluation forward of 200 rows (eval mode, no_grad).

Prints one line per operation and thread count: the median wall and CPU
milliseconds per operation over --reps repetitions (after warm-up).
Run with Debian's python3-torch:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 resnet_pytorch.py --threads 1
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18r(nn.Module):
    def __init__(self, cin, classes, nf):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, nf, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        layers, c = [], nf
        for mult, stride in ((1, 1), (2, 2), (4, 2), (8, 2)):
            layers += [BasicBlock(c, nf * mult, stride), BasicBlock(nf * mult, nf * mult, 1)]
            c = nf * mult
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(nf * 8, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.avg_pool2d(out, 4)
        return self.linear(out.flatten(1))


def timed(fn, reps):
    walls, cpus = [], []
    for _ in range(reps):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--ops", default="train,infer")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNet18r(1, 10, 20)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = (torch.rand(200, 1, 28, 28) * (torch.rand(200, 1, 28, 28) < 0.5)).contiguous()
    y = torch.randint(0, 10, (64,))

    def train():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = 0.5 * F.cross_entropy(model(x[:32]), y[:32]) + 0.5 * F.cross_entropy(model(x[32:64]), y[32:])
        loss.backward()
        opt.step()

    def infer():
        model.eval()
        with torch.no_grad():
            model(x)

    for op in a.ops.split(","):
        fn = {"train": train, "infer": infer}[op]
        for _ in range(2):
            fn()
        ms, cpu = timed(fn, a.reps)
        print(f"op={op} threads={a.threads} ms={ms:.1f} cpu_ms={cpu:.1f} torch={torch.__version__}", flush=True)


if __name__ == "__main__":
    main()
