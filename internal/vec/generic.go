//go:build !amd64 || noasm

package vec

func addBiasReLU(x []float32, ld, rows int, bias []float32, relu bool) {
	addBiasReLUGo(x, ld, rows, 0, bias, relu)
}

func addColSums(dst, x []float32, ld, rows int) { addColSumsGo(dst, x, ld, rows, 0) }

func sgdStep(p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
	sgdStepGo(p, g, v, lr, mu, wd, first, nesterov, 0)
}

func reluBackward(d, act []float32) { reluBackwardGo(d, act, 0) }

// Kernel names the implementation in use.
func Kernel() string { return "go" }

// variants lists every implementation this build runs.
func variants() []variant { return []variant{goVariant} }

// asmBuild tells whether this build has the assembly loops.
const asmBuild = false
