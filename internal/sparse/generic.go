//go:build !amd64 || noasm

package sparse

func mulRows(out []float32, ldo int, m *CSR, r0, r1 int, w []float32, ldw, n int, bias []float32, relu, acc bool) {
	mulRowsGo(out, ldo, m, r0, r1, w, ldw, 0, n, bias, relu, acc)
}

func addOuter(w []float32, ldw int, m *CSR, d []float32, ldd, c0, c1 int) {
	addOuterGo(w, ldw, m, d, ldd, c0, c1)
}

// Kernel names the implementation in use.
func Kernel() string { return "go" }

var active *kernels

func available() []*kernels { return nil }
