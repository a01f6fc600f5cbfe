//go:build !amd64 || noasm

package conv

func availableKernels() []*kernelSet { return []*kernelSet{&genericKernels} }

const planeAsm = false

func planeSumAsm(s *float32, x *float32, rows, cols, ld int)                  {}
func planeSqDevAsm(s *float32, x *float32, rows, cols, ld int, mean float32)  {}
func planeReLUMaskAsm(g, act *float32, rows, cols, ld int)                    {}
func planeBNSumsAsm(sg, sgd, g, h *float32, rows, cols, ld int, mean float32) {}
func planeBNBackwardAsm(dh, g, h *float32, rows, cols, ld int, a, b, c, mean float32, valid int) {
}
func planeAffineAsm(dst, x, r *float32, rows, cols, ld int, a, b, ra, rb float32, flags, valid int) {
}

func winoPackAsm(isa int, g *float32, gs int, u *float32, us int) {}

func planeBNSumsMaskAsm(sg, sgd, g, act, h *float32, rows, cols, ld int, mean float32) {}
