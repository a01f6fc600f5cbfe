package nn

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golden is a file of named float32 arrays written by
// testdata/golden/gen.py (PyTorch), in the file's order.
type golden struct {
	names []string
	vals  map[string][]float32
}

func readGolden(t *testing.T, name string) *golden {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (regenerate with testdata/golden/gen.py)", err)
	}
	g := &golden{vals: map[string][]float32{}}
	for len(data) > 0 {
		if len(data) < 4 {
			t.Fatalf("%s: truncated", path)
		}
		nl := int(binary.LittleEndian.Uint32(data))
		if len(data) < 8+nl {
			t.Fatalf("%s: truncated", path)
		}
		nm := string(data[4 : 4+nl])
		cnt := int(binary.LittleEndian.Uint32(data[4+nl:]))
		data = data[8+nl:]
		if len(data) < 4*cnt {
			t.Fatalf("%s: %s truncated", path, nm)
		}
		v := make([]float32, cnt)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		data = data[4*cnt:]
		g.names = append(g.names, nm)
		g.vals[nm] = v
	}
	return g
}

// arena maps the arrays whose names start with prefix ("param:" or
// "grad:"), in PyTorch's order, onto an arena of m's layout: convolution
// weights are OIHW in both, batch-normalisation weights and biases are
// vectors, and the head's out×in weight is transposed into In×Out.
func (g *golden) arena(t *testing.T, m *ConvNet, prefix string) []float32 {
	t.Helper()
	dst := make([]float32, len(m.Params()))
	off := 0
	h := m.Head()
	for _, nm := range g.names {
		if !strings.HasPrefix(nm, prefix) {
			continue
		}
		v := g.vals[nm]
		if off == h.W {
			if len(v) != h.In*h.Out {
				t.Fatalf("%s: %d values for a %dx%d head", nm, len(v), h.In, h.Out)
			}
			for o := range h.Out {
				for i := range h.In {
					dst[h.W+i*h.Out+o] = v[o*h.In+i]
				}
			}
			off += len(v)
			continue
		}
		if off+len(v) > len(dst) {
			t.Fatalf("%s: more parameters than the model's %d", nm, len(dst))
		}
		copy(dst[off:], v)
		off += len(v)
	}
	if off != len(dst) {
		t.Fatalf("%s arrays fill %d of %d parameters", prefix, off, len(dst))
	}
	return dst
}

// state returns the running statistics in m's State layout.
func (g *golden) state(t *testing.T, m *ConvNet) []float32 {
	t.Helper()
	var st []float32
	for _, nm := range g.names {
		if strings.HasPrefix(nm, "buffer:") {
			st = append(st, g.vals[nm]...)
		}
	}
	if len(st) != len(m.State()) {
		t.Fatalf("%d running statistics, want %d", len(st), len(m.State()))
	}
	return st
}

// agree compares got with want, per array: within tol of the array's
// largest magnitude.
func agree(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	worst := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		worst = max(worst, d)
		if !(d <= tol*scale+1e-7) {
			t.Errorf("%s[%d] = %v, PyTorch %v (scale %.3g)", what, i, got[i], want[i], scale)
			return
		}
	}
	t.Logf("%s: worst difference %.3g (scale %.3g)", what, worst, scale)
}

// TestGoldenPyTorch replays testdata/golden: PyTorch's initial weights, a
// batch of 4+4 rows in two groups, the loss 0.5·CE(group 1) +
// 0.5·CE(group 2); logits, loss, every gradient and the running
// statistics must agree with PyTorch's, and so must the evaluation logits
// after one SGD step.
func TestGoldenPyTorch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		spec Spec
	}{
		{"resnet18r_nf4.bin", Spec{Arch: "resnet18r", Input: Shape{C: 3, H: 32, W: 32}, Classes: 10, NF: 4}},
		{"cnn.bin", Spec{Arch: "cnn", Input: Shape{C: 3, H: 32, W: 32}, Classes: 10}},
	} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/t%d", tc.spec.Arch, threads), func(t *testing.T) {
				t.Parallel()
				g := readGolden(t, tc.file)
				c := NewCompute(threads)
				defer c.Close()
				mm, err := New(tc.spec, c)
				if err != nil {
					t.Fatal(err)
				}
				m := mm.(*ConvNet)
				copy(m.Params(), g.arena(t, m, "param:"))
				x := g.vals["x"]
				y := make([]int32, 8)
				for i, v := range g.vals["y"] {
					y[i] = int32(v)
				}
				ws := m.NewWorkspace(8)
				ws.SetGroups(4, 4)
				m.ZeroGrad()
				logits := m.Forward(ws, x, 8)
				agree(t, "logits", logits, g.vals["logits"], 1e-4)
				C := m.OutputDim()
				l1, _ := SoftmaxCE(logits[:4*C], 4, C, y[:4], SoftmaxMask{}, 0.5/4, ws.LogitGrad())
				l2, _ := SoftmaxCE(logits[4*C:], 4, C, y[4:], SoftmaxMask{}, 0.5/4, ws.LogitGrad()[4*C:])
				loss := 0.5*l1/4 + 0.5*l2/4
				if want := float64(g.vals["loss"][0]); math.Abs(loss-want) > 1e-5*math.Abs(want) {
					t.Errorf("loss %v, PyTorch %v", loss, want)
				}
				m.Backward(ws)
				want := g.arena(t, m, "grad:")
				// Per layer: a gradient is compared with the largest of its
				// array.
				for _, cr := range m.convs {
					n := cr.l.WeightLen()
					agree(t, fmt.Sprintf("conv@%d", cr.w), m.Grads()[cr.w:cr.w+n], want[cr.w:cr.w+n], 1e-4)
				}
				for _, b := range m.bns {
					agree(t, fmt.Sprintf("bn@%d", b.gamma), m.Grads()[b.gamma:b.gamma+2*b.c], want[b.gamma:b.gamma+2*b.c], 1e-4)
				}
				h := m.Head()
				agree(t, "head", m.Grads()[h.W:], want[h.W:], 1e-4)
				agree(t, "running statistics", m.State(), g.state(t, m), 1e-5)

				opt := NewSGD(SGDConfig{LR: 0.05, Momentum: 0.9}, len(m.Params()))
				opt.Step(m.Params(), m.Grads())
				ev := m.NewWorkspace(8)
				agree(t, "evaluation logits", m.Infer(m.Params(), m.State(), ev, x, 8), g.vals["eval_logits"], 1e-4)
			})
		}
	}
}
