// Package sparse multiplies a sparse matrix (compressed sparse rows) by a
// dense one: the products of a layer whose input is mostly zeros, as MNIST
// pixels (about 81 % zero) are.
//
// MulRows computes, row by row, out[i, :] = bias + Σ_p a[i, p]·W[p, :]
// over the nonzeros p of row i in increasing p, optionally followed by a
// ReLU. Each output row is accumulated in registers (AVX-512 or AVX2/FMA
// micro-kernels in Go assembly, chosen at run time; a portable Go loop on
// other architectures and under the noasm build tag; GODEBUG=cpu.avx512f=off
// selects AVX2 on an AVX-512 CPU, and Kernel names the family in use; the
// AVX2 kernels prefetch the W row a few nonzeros ahead). Rows are independent
// and every element's value is the same sequence of operations whichever
// thread computes it, so results do not depend on the thread count.
//
// AddOuter accumulates Aᵀ·D into W (the weight gradient of such a layer):
// for every nonzero a[i, p], W[p, :] += a[i, p]·D[i, :], in row order.
package sparse
