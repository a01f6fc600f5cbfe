package gemm_test

import (
	"fmt"

	"github.com/cleval/cleval/internal/gemm"
)

func ExampleContext_Sgemm() {
	ctx := gemm.NewContext(2)
	defer ctx.Close()

	// Y = X·W for a batch of 2 inputs of 3 features and a layer of 2 units.
	x := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{
		1, 0,
		0, 1,
		1, 1,
	}
	y := make([]float32, 2*2)
	ctx.Sgemm(false, false, 2, 2, 3, 1, x, 3, w, 2, 0, y, 2)
	fmt.Println(y)

	// dW = Xᵀ·dY (X stored 2×3, so op(X) = Xᵀ is 3×2).
	dy := []float32{1, 0, 0, 1}
	dw := make([]float32, 3*2)
	ctx.Sgemm(true, false, 3, 2, 2, 1, x, 3, dy, 2, 0, dw, 2)
	fmt.Println(dw)
	// Output:
	// [4 5 10 11]
	// [1 4 2 5 3 6]
}
