package gemm

import "unsafe"

// nr is the width of every micro-kernel's C tile and of a packed B
// micro-panel: one AVX-512 vector, two AVX2 vectors.
const nr = 16

// kernelFunc computes an r×nr tile (r fixed per function) of
//
//	C = alpha*(A·B) + beta*C
//
// from an A micro-panel a (k steps of r floats, step p at a[p*rsa]: rsa = r
// when packed) and a B micro-panel b (k rows of nr floats, row p at
// b[p*rsb]). Only the first cols columns of C are read or written.
// beta == 0 (either sign) means C is not read.
//
// Every implementation keeps one accumulator per C element, starts it at
// zero, adds the k products in order with one rounding per step (a fused
// multiply-add in the assembly kernels), then rounds alpha*acc and adds
// beta*C (with one rounding in the assembly kernels). So an element's
// value does not depend on r, cols or the tile's position: this is what
// makes results independent of the partition of the work between threads.
type kernelFunc func(k int, a *float32, rsa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32, cols int)

// kernelSet is a family of micro-kernels: fns[r] computes r rows, 1 ≤ r ≤ mr.
type kernelSet struct {
	name string
	mr   int
	fns  []kernelFunc

	// Optional assembly packing routines (lanes ≤ 16); nil means the Go
	// loops. packT writes dst[p*dstStride+i] = src[i*ld+p] and copyPanel
	// dst[p*dstStride+i] = src[p*ld+i], for p < kb and i < lanes, with
	// zeros for i ≥ rows (cols).
	packT     func(dst *float32, dstStride int, src *float32, ld, rows, lanes, kb int)
	packTRows int // the most rows (lanes) one packT call handles
	copyPanel func(dst *float32, dstStride int, src *float32, ld, cols, lanes, kb int)

	// dot[n] (1 ≤ n < len(dot)), if present, computes products with n
	// columns by dot products along k, reading A rows in place: for narrow
	// C it avoids packing A and the idle lanes of an n-wide tile.
	dot      []dotKernelFunc
	dotChunk int // k-steps per chunk of the dot kernels' packed B
}

// dotKernelFunc computes C[i][j] = alpha*Σ_p A[i][p]·B[p][j] + beta*C[i][j]
// for rows rows ≥ 1 and a fixed number n of columns, with A row-major
// (stride lda) and B packed by packDot with the set's dotChunk. Every
// element is summed in dotChunk interleaved partial sums reduced by the
// same fixed tree, so its value does not depend on its row or on rows.
type dotKernelFunc func(k int, a *float32, lda, rows int, bt *float32, c *float32, ldc int, alpha, beta float32)

// goMR is the row count of the portable kernel.
const goMR = 4

// genericKernels is the portable Go kernel set, used where no assembly
// kernel applies (other architectures, the noasm tag, old CPUs).
var genericKernels = kernelSet{
	name: "go",
	mr:   goMR,
	fns: []kernelFunc{
		nil,
		func(k int, a *float32, rsa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32, cols int) {
			goKernel(1, k, a, rsa, b, rsb, c, ldc, alpha, beta, cols)
		},
		func(k int, a *float32, rsa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32, cols int) {
			goKernel(2, k, a, rsa, b, rsb, c, ldc, alpha, beta, cols)
		},
		func(k int, a *float32, rsa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32, cols int) {
			goKernel(3, k, a, rsa, b, rsb, c, ldc, alpha, beta, cols)
		},
		func(k int, a *float32, rsa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32, cols int) {
			goKernel(4, k, a, rsa, b, rsb, c, ldc, alpha, beta, cols)
		},
	},
}

// goKernel is the portable micro-kernel for r ≤ goMR rows. It walks the
// 16 columns in quads so that a block of accumulators can live in
// registers; each accumulator sums its k products in order. Products are
// rounded explicitly (float32(x*y)): that forbids the compiler to fuse
// them into FMAs in some code paths and not others, which would make an
// element's value depend on its tile.
func goKernel(r, k int, a *float32, rsa int, b *float32, rsb int, c *float32, ldc int, alpha, beta float32, cols int) {
	var acc [goMR][nr]float32
	if k > 0 {
		as := unsafe.Slice(a, (k-1)*rsa+r)
		bs := unsafe.Slice(b, (k-1)*rsb+nr)
		for q := 0; q < nr && q < cols; q += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			var c20, c21, c22, c23, c30, c31, c32, c33 float32
			for p := 0; p < k; p++ {
				bq := (*[4]float32)(bs[p*rsb+q:])
				b0, b1, b2, b3 := bq[0], bq[1], bq[2], bq[3]
				ap := as[p*rsa : p*rsa+r]
				a0 := ap[0]
				c00 += float32(a0 * b0)
				c01 += float32(a0 * b1)
				c02 += float32(a0 * b2)
				c03 += float32(a0 * b3)
				if r > 1 {
					a1 := ap[1]
					c10 += float32(a1 * b0)
					c11 += float32(a1 * b1)
					c12 += float32(a1 * b2)
					c13 += float32(a1 * b3)
				}
				if r > 2 {
					a2 := ap[2]
					c20 += float32(a2 * b0)
					c21 += float32(a2 * b1)
					c22 += float32(a2 * b2)
					c23 += float32(a2 * b3)
				}
				if r > 3 {
					a3 := ap[3]
					c30 += float32(a3 * b0)
					c31 += float32(a3 * b1)
					c32 += float32(a3 * b2)
					c33 += float32(a3 * b3)
				}
			}
			acc[0][q], acc[0][q+1], acc[0][q+2], acc[0][q+3] = c00, c01, c02, c03
			acc[1][q], acc[1][q+1], acc[1][q+2], acc[1][q+3] = c10, c11, c12, c13
			acc[2][q], acc[2][q+1], acc[2][q+2], acc[2][q+3] = c20, c21, c22, c23
			acc[3][q], acc[3][q+1], acc[3][q+2], acc[3][q+3] = c30, c31, c32, c33
		}
	}
	cs := unsafe.Slice(c, (r-1)*ldc+cols)
	for i := 0; i < r; i++ {
		crow := cs[i*ldc : i*ldc+cols]
		if beta == 0 {
			for j := range crow {
				crow[j] = alpha * acc[i][j]
			}
			continue
		}
		for j := range crow {
			crow[j] = float32(beta*crow[j]) + float32(alpha*acc[i][j])
		}
	}
}
