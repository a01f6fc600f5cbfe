package conv

// Element-wise passes over the interior of one plane (one channel of one
// block) of a blocked tensor: the pieces of batch normalisation, ReLU and
// pooling. Sums are kept per lane (sample) in float32, pixel after pixel
// in row order, so that callers can combine exactly the lanes they want
// (the samples of a group) in an order of their choosing.

// planeSumGo is the portable adds to s, lane by lane, the values of the plane of t at off.
func planeSumGo(s *[Lanes]float32, t Tensor, x []float32, off int) {
	for y := range t.H {
		row := x[off+t.Pixel(y, 0):][:t.W*Lanes]
		for p := 0; p < len(row); p += Lanes {
			v := (*[Lanes]float32)(row[p:])
			for l := range Lanes {
				s[l] += v[l]
			}
		}
	}
}

// planeSqDevGo is the portable adds to s, lane by lane, the squares of the differences
// between the values of the plane at off and mean.
func planeSqDevGo(s *[Lanes]float32, t Tensor, x []float32, off int, mean float32) {
	for y := range t.H {
		row := x[off+t.Pixel(y, 0):][:t.W*Lanes]
		for p := 0; p < len(row); p += Lanes {
			v := (*[Lanes]float32)(row[p:])
			for l := range Lanes {
				d := v[l] - mean
				s[l] += float32(d * d)
			}
		}
	}
}

// planeAffineGo is the portable writes dst = relu(x·a + b [+ r]) over the plane at off
// (dst, x and r have geometry t; r, when not nil, adds a residual:
// r·ra + rb when rAffine, r itself otherwise). Lanes at or beyond valid
// get 0. dst may be x or r.
func planeAffineGo(t Tensor, dst, x []float32, off int, a, b float32, r []float32, rAffine bool, ra, rb float32, relu bool, valid int) {
	for y := range t.H {
		o := off + t.Pixel(y, 0)
		drow := dst[o:][:t.W*Lanes]
		xrow := x[o:][:t.W*Lanes]
		var rrow []float32
		if r != nil {
			rrow = r[o:][:t.W*Lanes]
		}
		for p := 0; p < len(drow); p += Lanes {
			d := (*[Lanes]float32)(drow[p:])
			v := (*[Lanes]float32)(xrow[p:])
			var rv *[Lanes]float32
			if rrow != nil {
				rv = (*[Lanes]float32)(rrow[p:])
			}
			for l := range Lanes {
				u := float32(v[l]*a) + b
				if rv != nil {
					if rAffine {
						u += float32(rv[l]*ra) + rb
					} else {
						u += rv[l]
					}
				}
				if relu && u < 0 {
					u = 0
				}
				if l >= valid {
					u = 0
				}
				d[l] = u
			}
		}
	}
}

// planeReLUMaskGo is the portable zeroes g wherever act ≤ 0 over the plane at off.
func planeReLUMaskGo(t Tensor, g, act []float32, off int) {
	for y := range t.H {
		o := off + t.Pixel(y, 0)
		grow := g[o:][:t.W*Lanes]
		arow := act[o:][:t.W*Lanes]
		for i, a := range arow {
			if a <= 0 {
				grow[i] = 0
			}
		}
	}
}

// planeBNSumsGo is the portable adds to sg the lane sums of g and to sgd those of
// g·(h − mean) over the plane at off (the sums of a batch normalisation's
// backward pass).
func planeBNSumsGo(sg, sgd *[Lanes]float32, t Tensor, g, h []float32, off int, mean float32) {
	for y := range t.H {
		o := off + t.Pixel(y, 0)
		grow := g[o:][:t.W*Lanes]
		hrow := h[o:][:t.W*Lanes]
		for p := 0; p < len(grow); p += Lanes {
			gv := (*[Lanes]float32)(grow[p:])
			hv := (*[Lanes]float32)(hrow[p:])
			for l := range Lanes {
				sg[l] += gv[l]
				sgd[l] += float32(gv[l] * (hv[l] - mean))
			}
		}
	}
}

// planeBNBackwardGo is the portable writes dh = A·g + (B·(h − mean) + C) over the plane at
// off; lanes at or beyond valid get 0.
func planeBNBackwardGo(t Tensor, dh, g, h []float32, off int, a, b, c, mean float32, valid int) {
	for y := range t.H {
		o := off + t.Pixel(y, 0)
		drow := dh[o:][:t.W*Lanes]
		grow := g[o:][:t.W*Lanes]
		hrow := h[o:][:t.W*Lanes]
		for p := 0; p < len(drow); p += Lanes {
			d := (*[Lanes]float32)(drow[p:])
			gv := (*[Lanes]float32)(grow[p:])
			hv := (*[Lanes]float32)(hrow[p:])
			for l := range Lanes {
				u := float32(a*gv[l]) + (float32(b*(hv[l]-mean)) + c)
				if l >= valid {
					u = 0
				}
				d[l] = u
			}
		}
	}
}

// ClearBorder zeroes the border pixels of nb blocks of t in x (a buffer
// that held a tensor of another geometry before).
func ClearBorder(t Tensor, x []float32, nb int) {
	if t.Pad == 0 && t.Extra == 0 {
		return
	}
	wp := t.Wp()
	for b := range nb {
		for c := range t.C {
			p := x[b*t.Block()+c*t.Plane():][:t.Plane()]
			clear(p[:t.Pad*wp*Lanes])
			clear(p[(t.Pad+t.H)*wp*Lanes:])
			for y := range t.H {
				row := p[(t.Pad+y)*wp*Lanes:][:wp*Lanes]
				clear(row[:t.Pad*Lanes])
				clear(row[(t.Pad+t.W)*Lanes:])
			}
		}
	}
}

// interior returns the offset of the first interior pixel of the plane
// at off, checking that x holds the plane.
func interior(t Tensor, x []float32, off int) int {
	if off < 0 || off+t.Plane() > len(x) {
		panic("conv: plane outside the buffer")
	}
	return off + t.Pixel(0, 0)
}

// PlaneSum adds to s, lane by lane, the values of the plane of t at off,
// pixel after pixel in row order.
func PlaneSum(s *[Lanes]float32, t Tensor, x []float32, off int) {
	if planeAsm {
		planeSumAsm(&s[0], &x[interior(t, x, off)], t.H, t.W, t.Wp()*Lanes)
		return
	}
	planeSumGo(s, t, x, off)
}

// PlaneSqDev adds to s, lane by lane, the squares of the differences
// between the values of the plane at off and mean.
func PlaneSqDev(s *[Lanes]float32, t Tensor, x []float32, off int, mean float32) {
	if planeAsm {
		planeSqDevAsm(&s[0], &x[interior(t, x, off)], t.H, t.W, t.Wp()*Lanes, mean)
		return
	}
	planeSqDevGo(s, t, x, off, mean)
}

// PlaneAffine writes dst = relu(x·a + b [+ r]) over the plane at off
// (dst, x and r have geometry t; r, when not nil, adds a residual:
// r·ra + rb when rAffine, r itself otherwise). Lanes at or beyond valid
// get 0. dst may be x or r.
func PlaneAffine(t Tensor, dst, x []float32, off int, a, b float32, r []float32, rAffine bool, ra, rb float32, relu bool, valid int) {
	if planeAsm {
		o := interior(t, dst, off)
		interior(t, x, off)
		flags := 0
		var rp *float32
		if relu {
			flags |= 1
		}
		if r != nil {
			rp = &r[interior(t, r, off)]
			flags |= 2
			if rAffine {
				flags |= 4
			}
		}
		planeAffineAsm(&dst[o], &x[o], rp, t.H, t.W, t.Wp()*Lanes, a, b, ra, rb, flags, max(0, min(valid, Lanes)))
		return
	}
	planeAffineGo(t, dst, x, off, a, b, r, rAffine, ra, rb, relu, valid)
}

// PlaneReLUMask zeroes g wherever act ≤ 0 over the plane at off (NaN
// activations keep their gradient).
func PlaneReLUMask(t Tensor, g, act []float32, off int) {
	if planeAsm {
		o := interior(t, g, off)
		interior(t, act, off)
		planeReLUMaskAsm(&g[o], &act[o], t.H, t.W, t.Wp()*Lanes)
		return
	}
	planeReLUMaskGo(t, g, act, off)
}

// PlaneBNSums adds to sg the lane sums of g and to sgd those of
// g·(h − mean) over the plane at off (the sums of a batch normalisation's
// backward pass).
func PlaneBNSums(sg, sgd *[Lanes]float32, t Tensor, g, h []float32, off int, mean float32) {
	if planeAsm {
		o := interior(t, g, off)
		interior(t, h, off)
		planeBNSumsAsm(&sg[0], &sgd[0], &g[o], &h[o], t.H, t.W, t.Wp()*Lanes, mean)
		return
	}
	planeBNSumsGo(sg, sgd, t, g, h, off, mean)
}

// PlaneBNSumsMasked is PlaneReLUMask(t, g, act, off) followed by
// PlaneBNSums, in one pass.
func PlaneBNSumsMasked(sg, sgd *[Lanes]float32, t Tensor, g, act, h []float32, off int, mean float32) {
	if planeAsm {
		o := interior(t, g, off)
		interior(t, act, off)
		interior(t, h, off)
		planeBNSumsMaskAsm(&sg[0], &sgd[0], &g[o], &act[o], &h[o], t.H, t.W, t.Wp()*Lanes, mean)
		return
	}
	planeReLUMaskGo(t, g, act, off)
	planeBNSumsGo(sg, sgd, t, g, h, off, mean)
}

// PlaneBNBackward writes dh = A·g + (B·(h − mean) + C) over the plane at
// off; lanes at or beyond valid get 0.
func PlaneBNBackward(t Tensor, dh, g, h []float32, off int, a, b, c, mean float32, valid int) {
	if planeAsm {
		o := interior(t, dh, off)
		interior(t, g, off)
		interior(t, h, off)
		planeBNBackwardAsm(&dh[o], &g[o], &h[o], t.H, t.W, t.Wp()*Lanes, a, b, c, mean, max(0, min(valid, Lanes)))
		return
	}
	planeBNBackwardGo(t, dh, g, h, off, a, b, c, mean, valid)
}
