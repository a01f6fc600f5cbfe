package vec

// variant is one implementation of the package's loops, Go or assembly;
// tests run every variant the CPU supports against the Go loops.
type variant struct {
	name         string
	lanes        int // 1 for the Go loops
	addBiasReLU  func(x []float32, ld, rows int, bias []float32, relu bool)
	addColSums   func(dst, x []float32, ld, rows int)
	sgdStep      func(p, g, v []float32, lr, mu, wd float32, first, nesterov bool)
	reluBackward func(d, act []float32)
}

var goVariant = variant{
	name:  "go",
	lanes: 1,
	addBiasReLU: func(x []float32, ld, rows int, bias []float32, relu bool) {
		addBiasReLUGo(x, ld, rows, 0, bias, relu)
	},
	addColSums: func(dst, x []float32, ld, rows int) { addColSumsGo(dst, x, ld, rows, 0) },
	sgdStep: func(p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
		sgdStepGo(p, g, v, lr, mu, wd, first, nesterov, 0)
	},
	reluBackward: func(d, act []float32) { reluBackwardGo(d, act, 0) },
}
