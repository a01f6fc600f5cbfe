// Package vec holds the element-wise float32 loops of the engine that the
// Go compiler does not vectorise, in Go assembly on amd64 (AVX-512 or
// AVX2) with portable Go fallbacks (other architectures, noasm tag).
// Every element gets the same arithmetic whichever implementation runs.
package vec

// AddBiasReLU sets x[r*ld+c] = x[r*ld+c] + bias[c] for rows 0..rows-1 and
// columns 0..len(bias)-1, then clamps negative values to 0 when relu is
// set (NaN is kept, as in `if v < 0 { v = 0 }`).
func AddBiasReLU(x []float32, ld, rows int, bias []float32, relu bool) {
	n := len(bias)
	if rows == 0 || n == 0 {
		return
	}
	if ld < n || len(x) < (rows-1)*ld+n {
		panic("vec: AddBiasReLU: short matrix")
	}
	addBiasReLU(x, ld, rows, bias, relu)
}

func addBiasReLUGo(x []float32, ld, rows, c0 int, bias []float32, relu bool) {
	for r := range rows {
		row := x[r*ld : r*ld+len(bias)]
		for c := c0; c < len(bias); c++ {
			v := row[c] + bias[c]
			if relu && v < 0 {
				v = 0
			}
			row[c] = v
		}
	}
}
