// Package gemm is cleval's float32 matrix multiply, C = alpha*op(A)*op(B)
// + beta*C on row-major matrices (BLAS sgemm semantics), fast enough that
// training needs no system BLAS.
//
// # Design
//
// The native implementation follows Goto/BLIS. A micro-kernel computes an
// r×16 tile of C (r ≤ mr) over a k block, with one accumulator per element:
//
//   - AVX-512 (chosen at run time with golang.org/x/sys/cpu): mr = 30, the
//     16 columns in one zmm register, 30 accumulators, A elements as
//     embedded broadcasts of the FMAs, column masks for edge tiles;
//   - AVX2/FMA: mr = 6, two ymm registers per row, 12 accumulators;
//     full tiles load and store C with plain moves, edge tiles with masked
//     moves (VMASKMOVPS stores are slow on AMD cores), and the packing
//     routines likewise use masked moves only where they must;
//   - portable Go (other architectures, the noasm build tag): mr = 4.
//
// One kernel exists for every row count 1..mr, so edge tiles waste no
// work. op(B) is packed into micro-panels of 16 columns — or read in place
// when it is stored k×n, whose rows already have that layout — and op(A)
// into micro-panels of r rows — or read in place when it is stored k×m.
// Packing that transposes uses in-register 16×16 (AVX-512) or 8×8 (AVX2)
// transposes. k is cut into equal blocks of at most 800.
//
// Narrow products (n ≤ 12, as the 10-class output layer) take special
// paths: A·B and A·Bᵀ use dot-product kernels that read A in place and
// vectorize along k; Aᵀ·B computes Cᵀ = op(B)ᵀ·op(A)ᵀ so that the 16 lanes
// run along m.
//
// # Determinism
//
// For a given build and CPU, every element of C is computed by the same
// sequence of floating-point operations whatever the thread count and
// wherever the element lies: the path and the k blocking depend on the
// shape and layout only, k is never split across threads, and every
// kernel (any row count, any column mask, any thread) sums an element's k
// products in order in one accumulator, then applies alpha and beta the
// same way. Threads divide rows (or, for very few rows, columns) of C.
// The dot kernels sum along k in 16 (AVX2: 8) interleaved partial sums
// reduced by a fixed tree, again identical for every element.
//
// # Threads and memory
//
// A Context owns a persistent worker pool and the packing workspaces. Each
// thread owns an equal share of the rows of C, processed in blocks of 60
// rows; a thread that runs out of work takes blocks from the end of
// another's share, so a thread slowed by other load does not hold up the
// product. B micro-panels that need packing are packed by the first
// thread to need them (threads start their sweeps at different panels),
// so there is no packing phase and no barrier: one fork-join per call.
// Small products run on the calling goroutine alone. After warm-up (the
// largest shape seen), calls allocate nothing.
//
// # Kernel choice
//
// The kernel family is chosen once, at start-up, with golang.org/x/sys/cpu,
// which honours GODEBUG like the runtime: GODEBUG=cpu.avx512f=off selects
// the AVX2 kernels on an AVX-512 CPU (Context.Kernel and BackendDetail
// say which family runs; a test checks it). The generated assembly
// (asmgen.go) is checked against its generator by internal/checkgen.sh.
//
// # OpenBLAS
//
// With the openblas build tag (cgo, -lopenblas), Context.Sgemm calls
// OpenBLAS's cblas_sgemm through gonum.org/v1/netlib with the Context's
// thread count, for side-by-side measurements: compare.sh runs
// BenchmarkSgemm in both builds and prints the ratios.
package gemm
