#!/usr/bin/env python3
"""Writes the golden files of nn's ConvNet test with PyTorch.

For each model (resnet18r with nf 4 and cnn, on 3x32x32 inputs, 10 classes),
with torch.manual_seed(0): PyTorch's default initial parameters, a batch of
8 images in [0, 1) with labels, forwarded in training mode as two groups of 4
(each its own forward pass, as replay code does), the loss
0.5*CE(group 1) + 0.5*CE(group 2), the logits, every parameter gradient after
one backward pass, the batch-norm running statistics after the two forward
passes, and the evaluation-mode logits of the same batch after one SGD step
(lr 0.05, momentum 0.9).

Run with Debian's python3-torch:  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 gen.py

File format (little endian): records of a name (uint32 length, UTF-8 bytes),
a value count (uint32) and the values (float32). Parameters are named
param:<pytorch name> in PyTorch's layout (conv weights OIHW, Linear weights
out x in), gradients grad:<name>, running statistics buffer:<name>.
"""
import struct

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
    """The reduced ResNet-18 of continual learning (GEM's ResNet18(nf))."""

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


class SmallCNN(nn.Module):
    """cleval's "cnn": three conv3x3 BN ReLU (16, 32/2, 64/2), global average pooling, linear."""

    def __init__(self, cin, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.linear = nn.Linear(64, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = F.relu(self.bn3(self.conv3(out)))
        out = F.adaptive_avg_pool2d(out, 1)
        return self.linear(out.flatten(1))


def write(path, model, x, y):
    recs = []

    def add(name, t):
        recs.append((name, t.detach().reshape(-1).to(torch.float32).clone()))

    for name, p in model.named_parameters():
        add("param:" + name, p)
    add("x", x)
    add("y", y.to(torch.float32))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    opt.zero_grad()
    l1, l2 = model(x[:4]), model(x[4:])
    loss = 0.5 * F.cross_entropy(l1, y[:4]) + 0.5 * F.cross_entropy(l2, y[4:])
    loss.backward()
    add("logits", torch.cat([l1, l2]))
    add("loss", loss.reshape(1))
    for name, p in model.named_parameters():
        add("grad:" + name, p.grad)
    for name, b in model.named_buffers():
        if "running" in name:
            add("buffer:" + name, b)
    opt.step()
    model.eval()
    with torch.no_grad():
        add("eval_logits", model(x))
    with open(path, "wb") as f:
        for name, t in recs:
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", t.numel()))
            f.write(t.numpy().astype("<f4").tobytes())


def main():
    torch.set_num_threads(1)
    for name, make in (("resnet18r_nf4.bin", lambda: ResNet18r(3, 10, 4)), ("cnn.bin", lambda: SmallCNN(3, 10))):
        torch.manual_seed(0)
        model = make()
        x = torch.rand(8, 3, 32, 32)
        y = torch.randint(0, 10, (8,))
        write(name, model, x, y)


if __name__ == "__main__":
    main()
