package gemm

import "unsafe"

// alignedFloats returns a zeroed slice of n floats whose first element is
// 64-byte aligned (one cache line, one AVX-512 vector).
func alignedFloats(n int) []float32 {
	buf := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&buf[0]))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return buf[off : off+n : off+n]
}

// packA copies rows [i0, i0+mb) × columns [p0, p0+kb) of op(A) into dst as
// micro-panels of mr rows (the last one may have fewer): panel ir starts
// at dst[ir*kb] and holds, for each p, the r elements of column p.
func packA(ks *kernelSet, dst []float32, transA bool, a []float32, lda, i0, mb, p0, kb, mr int) {
	for ir := 0; ir < mb; ir += mr {
		r := min(mr, mb-ir)
		panel := dst[ir*kb : ir*kb+r*kb]
		if transA && ks.copyPanel != nil {
			for i := 0; i < r; i += 16 {
				w := min(16, r-i)
				ks.copyPanel(&panel[i], r, &a[p0*lda+i0+ir+i], lda, w, w, kb)
			}
			continue
		}
		if transA {
			// A is stored k×m: column p of op(A) is row p of A, contiguous.
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				copy(panel[p*r:p*r+r], src[:r])
			}
			continue
		}
		if ks.packT == nil {
			packTransposed(panel, a, lda, i0+ir, r, p0, kb)
			continue
		}
		// packTRows rows at a time into lanes [i, i+w) of each column.
		for i := 0; i < r; i += ks.packTRows {
			w := min(ks.packTRows, r-i)
			ks.packT(&panel[i], r, &a[(i0+ir+i)*lda+p0], lda, w, w, kb)
		}
	}
}

// packTransposed writes the r×kb block of the row-major matrix src at
// (row i0, column p0) into dst column by column: dst[p*r+i] = src[(i0+i)*ld+p0+p].
func packTransposed(dst, src []float32, ld, i0, r, p0, kb int) {
	// Blocks of 16 columns keep the r source lines and the destination
	// lines written together in L1.
	const blk = 16
	for pb := 0; pb < kb; pb += blk {
		pe := min(pb+blk, kb)
		for i := 0; i < r; i++ {
			row := src[(i0+i)*ld+p0+pb : (i0+i)*ld+p0+pe]
			d := dst[pb*r+i:]
			for q, v := range row {
				d[q*r] = v
			}
		}
	}
}

// packB copies rows [p0, p0+kb) × columns [j0, j0+nr) of op(B) into the
// micro-panel dst (kb rows of nr floats), padding columns ≥ n with zeros.
func packB(ks *kernelSet, dst []float32, transB bool, b []float32, ldb, n, p0, kb, j0 int) {
	cols := min(nr, n-j0)
	dst = dst[:kb*nr]
	if transB && ks.packT != nil {
		w := ks.packTRows
		for g := 0; g < nr; g += w {
			rows := min(max(cols-g, 0), w)
			src := &b[j0*ldb+p0] // for rows == 0: read (and zeroed) only
			if rows > 0 {
				src = &b[(j0+g)*ldb+p0]
			}
			ks.packT(&dst[g], nr, src, ldb, rows, w, kb)
		}
		return
	}
	if !transB && ks.copyPanel != nil {
		ks.copyPanel(&dst[0], nr, &b[p0*ldb+j0], ldb, cols, nr, kb)
		return
	}
	if transB {
		// B is stored n×k: column j of op(B) is row j of B.
		if cols < nr {
			clear(dst)
		}
		for pb := 0; pb < kb; pb += 16 {
			pe := min(pb+16, kb)
			for j := 0; j < cols; j++ {
				row := b[(j0+j)*ldb+p0+pb : (j0+j)*ldb+p0+pe]
				d := dst[pb*nr+j:]
				for q, v := range row {
					d[q*nr] = v
				}
			}
		}
		return
	}
	for p := 0; p < kb; p++ {
		d := dst[p*nr : p*nr+nr]
		src := b[(p0+p)*ldb+j0:]
		copy(d[:cols], src[:cols])
		clear(d[cols:])
	}
}

// dotPackedLen is the length of packDot's output.
func dotPackedLen(k, n, chunk int) int { return (k + chunk - 1) / chunk * chunk * n }

// packDot lays out op(B) (k×n) for the dot kernels: chunk q of chunk
// k-steps, column j, at dst[(q*n+j)*chunk:], zero-padded past k.
func packDot(dst []float32, transB bool, b []float32, ldb, n, k, chunk int) {
	nq := (k + chunk - 1) / chunk
	dst = dst[:nq*chunk*n]
	for q := 0; q < nq; q++ {
		for j := 0; j < n; j++ {
			d := dst[(q*n+j)*chunk : (q*n+j)*chunk+chunk]
			for l := range d {
				p := q*chunk + l
				switch {
				case p >= k:
					d[l] = 0
				case transB:
					d[l] = b[j*ldb+p]
				default:
					d[l] = b[p*ldb+j]
				}
			}
		}
	}
}
