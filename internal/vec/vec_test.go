package vec

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"
)

// special are values every test mixes in: NaN, ±0, ±Inf and a subnormal.
var special = []float32{
	float32(math.NaN()), 0, float32(math.Copysign(0, -1)),
	float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32,
}

func randVec(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
		if rng.IntN(8) == 0 {
			s[i] = special[rng.IntN(len(special))]
		}
	}
	return s
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// widths covers, for 8 and 16 lanes, no whole vector, whole vectors only,
// every remainder, and the 4-vector blocks of the column sums.
var widths = func() []int {
	var w []int
	for n := 1; n <= 70; n++ {
		w = append(w, n)
	}
	return append(w, 127, 128, 129, 400)
}()

func TestVariants(t *testing.T) {
	names := []string{}
	for _, v := range variants() {
		names = append(names, v.name)
	}
	t.Logf("variants: %v, in use: %s", names, Kernel())
	if asmBuild && cpu.X86.HasAVX2 && !strings.Contains(strings.Join(names, ","), "avx2") {
		t.Fatalf("AVX2 CPU without the avx2 variant: %v", names)
	}
}

func TestAddBiasReLUVariants(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, v := range variants() {
		for _, n := range widths {
			for _, rows := range []int{1, 3} {
				for _, pad := range []int{0, 5} {
					for _, relu := range []bool{false, true} {
						ld := n + pad
						x := randVec(rng, rows*ld)
						bias := randVec(rng, n)
						want := append([]float32(nil), x...)
						addBiasReLUGo(want, ld, rows, 0, bias, relu)
						v.addBiasReLU(x, ld, rows, bias, relu)
						if i := sameBits(x, want); i >= 0 {
							t.Fatalf("%s n=%d rows=%d ld=%d relu=%v: element %d = %v, want %v", v.name, n, rows, ld, relu, i, x[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestAddColSumsVariants(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2, 2))
	for _, v := range variants() {
		for _, n := range widths {
			for _, rows := range []int{1, 2, 7} {
				for _, pad := range []int{0, 3} {
					ld := n + pad
					x := randVec(rng, rows*ld)
					dst := randVec(rng, n)
					want := append([]float32(nil), dst...)
					addColSumsGo(want, x, ld, rows, 0)
					v.addColSums(dst, x, ld, rows)
					if i := sameBits(dst, want); i >= 0 {
						t.Fatalf("%s n=%d rows=%d ld=%d: column %d = %v, want %v", v.name, n, rows, ld, i, dst[i], want[i])
					}
				}
			}
		}
	}
}

func TestSGDStepVariants(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 3))
	for _, v := range variants() {
		for _, n := range widths {
			for mode := range 16 {
				wd := float32(0)
				if mode&1 != 0 {
					wd = 0.01
				}
				mu := float32(0)
				if mode&2 != 0 {
					mu = 0.9
				}
				first, nesterov := mode&4 != 0, mode&8 != 0
				p, g, vel := randVec(rng, n), randVec(rng, n), randVec(rng, n)
				p2, v2 := append([]float32(nil), p...), append([]float32(nil), vel...)
				sgdStepGo(p2, g, v2, 0.05, mu, wd, first, nesterov, 0)
				v.sgdStep(p, g, vel, 0.05, mu, wd, first, nesterov)
				if i := sameBits(p, p2); i >= 0 {
					t.Fatalf("%s n=%d mode=%d: p[%d] = %v, want %v", v.name, n, mode, i, p[i], p2[i])
				}
				if i := sameBits(vel, v2); i >= 0 {
					t.Fatalf("%s n=%d mode=%d: v[%d] = %v, want %v", v.name, n, mode, i, vel[i], v2[i])
				}
			}
		}
	}
}

func TestReLUBackwardVariants(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(4, 4))
	for _, v := range variants() {
		for _, n := range widths {
			act, d := randVec(rng, n+3), randVec(rng, n)
			want := append([]float32(nil), d...)
			reluBackwardGo(want, act, 0)
			v.reluBackward(d, act)
			if i := sameBits(d, want); i >= 0 {
				t.Fatalf("%s n=%d: element %d (act %v) = %v, want %v", v.name, n, i, act[i], d[i], want[i])
			}
		}
	}
}

// TestPublicFunctions checks the exported entry points (the active
// variant) against the Go loops on one shape each, and their panics.
func TestPublicFunctions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x, bias := randVec(rng, 3*40), randVec(rng, 37)
	want := append([]float32(nil), x...)
	addBiasReLUGo(want, 40, 3, 0, bias, true)
	AddBiasReLU(x, 40, 3, bias, true)
	if i := sameBits(x, want); i >= 0 {
		t.Fatalf("AddBiasReLU: element %d", i)
	}
	dst := randVec(rng, 37)
	wantD := append([]float32(nil), dst...)
	addColSumsGo(wantD, x, 40, 3, 0)
	AddColSums(dst, x, 40, 3)
	if i := sameBits(dst, wantD); i >= 0 {
		t.Fatalf("AddColSums: column %d", i)
	}
	for _, f := range []func(){
		func() { AddBiasReLU(x, 30, 3, bias, true) },
		func() { AddColSums(dst, x[:50], 40, 3) },
		func() { SGDStep(x[:5], x[:6], nil, 1, 0, 0, false, false) },
		func() { ReLUBackward(x[:5], x[:4]) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic on bad shapes")
				}
			}()
			f()
		}()
	}
}

// TestGODEBUGSelectsAVX2 runs this test binary again with
// GODEBUG=cpu.avx512f=off and checks that the AVX2 loops are in use.
func TestGODEBUGSelectsAVX2(t *testing.T) {
	if os.Getenv("VEC_WANT_KERNEL") != "" {
		if got := Kernel(); got != os.Getenv("VEC_WANT_KERNEL") {
			t.Fatalf("Kernel() = %s, want %s", got, os.Getenv("VEC_WANT_KERNEL"))
		}
		return
	}
	if runtime.GOARCH != "amd64" || !cpu.X86.HasAVX2 || Kernel() == "go" {
		t.Skip("no AVX2 loops in this build or on this CPU")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGODEBUGSelectsAVX2$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.avx512f=off", "VEC_WANT_KERNEL=avx2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with GODEBUG=cpu.avx512f=off: %v\n%s", err, out)
	}
}

func BenchmarkAddBiasReLU(b *testing.B) {
	x := make([]float32, 2048*400)
	bias := make([]float32, 400)
	b.SetBytes(int64(len(x) * 4))
	b.ReportAllocs()
	for b.Loop() {
		AddBiasReLU(x, 400, 2048, bias, true)
	}
}

func BenchmarkAddColSums(b *testing.B) {
	x := make([]float32, 512*400)
	dst := make([]float32, 400)
	b.SetBytes(int64(len(x) * 4))
	b.ReportAllocs()
	for b.Loop() {
		AddColSums(dst, x, 400, 512)
	}
}

func BenchmarkSGDStep(b *testing.B) {
	const n = 784*400 + 400
	p, g, v := make([]float32, n), make([]float32, n), make([]float32, n)
	b.SetBytes(n * 4)
	b.ReportAllocs()
	for b.Loop() {
		SGDStep(p, g, v, 0.01, 0.9, 0, false, false)
	}
}

func BenchmarkReLUBackward(b *testing.B) {
	d, act := make([]float32, 512*400), make([]float32, 512*400)
	b.SetBytes(int64(len(d) * 4))
	b.ReportAllocs()
	for b.Loop() {
		ReLUBackward(d, act)
	}
}
