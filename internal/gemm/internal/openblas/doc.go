// Package openblas calls OpenBLAS's cblas_sgemm through gonum's netlib
// bindings. It is built only with the openblas tag (it needs cgo and
// -lopenblas) and lives apart from package gemm because Go does not allow
// cgo and Go assembly in one package.
package openblas
