//go:build !amd64 || noasm

package vec

func addBiasReLU(x []float32, ld, rows int, bias []float32, relu bool) {
	addBiasReLUGo(x, ld, rows, 0, bias, relu)
}
