package datasets_test

import (
	"fmt"

	"github.com/cleval/cleval/datasets"
)

func ExampleDataset_Gather() {
	d := &datasets.Dataset{
		Name:       "tiny",
		Shape:      []int{2, 2},
		Pixels:     []uint8{0, 51, 102, 255, 255, 204, 153, 0},
		Labels:     []int32{1, 0},
		NumClasses: 2,
	}
	x := make([]float32, 2*d.Dim())
	y := make([]int32, 2)
	d.Gather(x, y, []int32{1, 0})
	fmt.Println(x)
	fmt.Println(y)
	// Output:
	// [1 0.8 0.6 0 0 0.2 0.4 1]
	// [0 1]
}

func ExampleSynthetic() {
	p, err := datasets.Synthetic(datasets.SyntheticConfig{NumClasses: 3, Dim: 8, TrainPerClass: 5, TestPerClass: 2, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Train.Name, p.Train.Len(), p.Train.Shape, p.Train.ClassCounts())
	fmt.Println(p.Test.Name, p.Test.Len(), p.Test.ClassCounts())
	// Output:
	// synthetic/train 15 [8] [5 5 5]
	// synthetic/test 6 [2 2 2]
}

func ExampleKnown() {
	for _, info := range datasets.Known() {
		fmt.Println(info.Name, info.NumClasses, info.Shape, info.TrainSize, info.TestSize, info.ClassNames[0])
	}
	// Output:
	// cifar10 10 [3 32 32] 50000 10000 airplane
	// cifar100 100 [3 32 32] 50000 10000 apple
	// cifar100-coarse 20 [3 32 32] 50000 10000 aquatic_mammals
	// fashion-mnist 10 [1 28 28] 60000 10000 T-shirt/top
	// mnist 10 [1 28 28] 60000 10000 0
}
