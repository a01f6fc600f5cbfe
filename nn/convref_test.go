package nn

import "math"

// tensor64 is a batch of n samples of c×h×w values in float64 (NCHW).
type tensor64 struct {
	n, c, h, w int
	v          []float64
}

func newT64(n, c, h, w int) tensor64 { return tensor64{n, c, h, w, make([]float64, n*c*h*w)} }

func (t tensor64) at(n, c, y, x int) *float64 { return &t.v[((n*t.c+c)*t.h+y)*t.w+x] }

// refNet computes a ConvNet the naive way, in float64 on NCHW tensors:
// the reference of the blocked kernels, the folding and the groups.
type refNet struct {
	m      *ConvNet
	params []float32
	state  []float64
	train  bool
	// feats, when keep is set, collects the features of every row
	// forwarded.
	keep  bool
	feats []float64
}

func (r *refNet) conv(x tensor64, cr *convRef) tensor64 {
	l := cr.l
	ho, wo := (x.h+2*l.Pad-l.K)/l.Stride+1, (x.w+2*l.Pad-l.K)/l.Stride+1
	y := newT64(x.n, l.Cout, ho, wo)
	for n := range x.n {
		for co := range l.Cout {
			for oy := range ho {
				for ox := range wo {
					s := 0.0
					if cr.b >= 0 {
						s = float64(r.params[cr.b+co])
					}
					for ci := range l.Cin {
						for kh := range l.K {
							for kw := range l.K {
								iy, ix := oy*l.Stride-l.Pad+kh, ox*l.Stride-l.Pad+kw
								if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w {
									s += float64(r.params[cr.w+((co*l.Cin+ci)*l.K+kh)*l.K+kw]) * *x.at(n, ci, iy, ix)
								}
							}
						}
					}
					*y.at(n, co, oy, ox) = s
				}
			}
		}
	}
	return y
}

func (r *refNet) bn(x tensor64, b *bnRef) tensor64 {
	y := newT64(x.n, x.c, x.h, x.w)
	cnt := float64(x.n * x.h * x.w)
	for c := range x.c {
		var mean, variance float64
		if r.train {
			for n := range x.n {
				for i := range x.h * x.w {
					mean += x.v[(n*x.c+c)*x.h*x.w+i]
				}
			}
			mean /= cnt
			for n := range x.n {
				for i := range x.h * x.w {
					d := x.v[(n*x.c+c)*x.h*x.w+i] - mean
					variance += d * d
				}
			}
			variance /= cnt
			r.state[b.mean+c] = (1-bnMomentum)*r.state[b.mean+c] + bnMomentum*mean
			r.state[b.vari+c] = (1-bnMomentum)*r.state[b.vari+c] + bnMomentum*variance*cnt/(cnt-1)
		} else {
			mean, variance = r.state[b.mean+c], r.state[b.vari+c]
		}
		s := float64(r.params[b.gamma+c]) / math.Sqrt(variance+bnEps)
		for n := range x.n {
			for i := range x.h * x.w {
				k := (n*x.c+c)*x.h*x.w + i
				y.v[k] = (x.v[k]-mean)*s + float64(r.params[b.beta+c])
			}
		}
	}
	return y
}

func relu64(x tensor64) tensor64 {
	for i, v := range x.v {
		x.v[i] = max(v, 0)
	}
	return x
}

// forward returns the logits of n rows of x (one group).
func (r *refNet) forward(x []float32, n int) []float64 {
	m := r.m
	in := newT64(n, m.input.C, m.input.H, m.input.W)
	for i := range in.v {
		in.v[i] = float64(x[i])
	}
	for _, u := range m.units {
		switch u.kind {
		case unitConv:
			y := r.conv(in, u.c1)
			if u.b1 != nil {
				y = r.bn(y, u.b1)
			}
			if u.relu {
				y = relu64(y)
			}
			in = y
		case unitBlock:
			a := relu64(r.bn(r.conv(in, u.c1), u.b1))
			y := r.bn(r.conv(a, u.c2), u.b2)
			s := in
			if u.cs != nil {
				s = r.bn(r.conv(in, u.cs), u.bs)
			}
			for i := range y.v {
				y.v[i] += s.v[i]
			}
			in = relu64(y)
		}
	}
	h := m.head
	logits := make([]float64, n*h.Out)
	for s := range n {
		feat := make([]float64, h.In)
		for c := range in.c {
			for qy, wy := range m.winY {
				for qx, wx := range m.winX {
					sum := 0.0
					for y := wy[0]; y < wy[1]; y++ {
						for x := wx[0]; x < wx[1]; x++ {
							sum += *in.at(s, c, y, x)
						}
					}
					feat[(c*len(m.winY)+qy)*len(m.winX)+qx] = sum / float64((wy[1]-wy[0])*(wx[1]-wx[0]))
				}
			}
		}
		if r.keep {
			r.feats = append(r.feats, feat...)
		}
		for o := range h.Out {
			v := float64(r.params[h.B+o])
			for i, f := range feat {
				v += f * float64(r.params[h.W+i*h.Out+o])
			}
			logits[s*h.Out+o] = v
		}
	}
	return logits
}
