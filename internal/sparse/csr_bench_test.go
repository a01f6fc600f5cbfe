package sparse

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkFromDense(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 11))
	a := randSparse(rng, 512, 784, 0.19)
	var m CSR
	m.Reserve(512, 512*784)
	b.ReportAllocs()
	for b.Loop() {
		m.FromDense(a, 512, 784)
	}
}

func BenchmarkTranspose(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 12))
	a := randSparse(rng, 512, 784, 0.19)
	var m, t CSR
	m.FromDense(a, 512, 784)
	m.Transpose(&t)
	b.ReportAllocs()
	for b.Loop() {
		m.Transpose(&t)
	}
}
