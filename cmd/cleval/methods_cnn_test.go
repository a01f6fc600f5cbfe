package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cleval/cleval/datasets"
)

// TestMethodModelRefusals: what sgm, pcr and dualarch cannot do with the
// model or its samples is refused before anything runs, at validation
// (the architecture alone) or once the stream is known (its samples and
// classes): one line on stderr naming the reason, exit status 2, no
// database.
func TestMethodModelRefusals(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	cifar := filepath.Join(root, "mini-cifar")
	writeCIFAR(t, cifar, datasets.CIFAR10, 1)
	csv := filepath.Join(root, "t.csv")
	makeTable().csv(csv)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"pcr augmentation of flat samples", []string{"--strategy", "pcr", "--benchmark", "split-synthetic"},
			"pcr: augmentation needs image samples, the samples have shape [1 1 64]; set augment to []"},
		{"pcr augmentation on the Sta-Net of flat samples", []string{"--preset", "pcr-online-sfmnist-resnet", "--model", "resnet18r-sta", "--benchmark", "split-synthetic"},
			"pcr: augmentation needs image samples"},
		{"pcr augmentation of 3-channel images", []string{"--strategy", "pcr", "--model", "cnn", "--data", cifar, "--experiences", "5"},
			"pcr: augmentation is implemented for 1-channel images, the samples have shape [3 32 32]"},
		{"pcr augmentation of 2-channel images", []string{"--strategy", "pcr", "--benchmark", "split", "--data", csv, "--label-col", "y", "--split-col", "split", "--image-shape", "2x2x2", "--experiences", "2"},
			"implemented for 1-channel images"},
		{"dualarch plastic learner too deep for the budget", []string{"--preset", "dualarch-smnist-er", "--benchmark", "split-synthetic", "--hidden", "1"},
			"dualarch: no plastic learner of 4 hidden layers fits the stable learner's 85 parameters"},
		{"dualarch on resnet18r", []string{"--preset", "dualarch-sfmnist-resnet", "--model", "resnet18r"},
			"model resnet18r has no such pair here: use model resnet18r-sta"},
		{"dualarch on cnn", []string{"--strategy", "dualarch", "--model", "cnn", "--benchmark", "split-synthetic"},
			"model cnn has no such pair here"},
		{"dualarch Pla-Net that does not fit", []string{"--preset", "dualarch-sfmnist-resnet", "--nf", "1", "--benchmark", "split-synthetic"},
			"dualarch: plastic learner: model resnet18r-pla: no width fits the 1623 parameters of resnet18r-sta with nf 1"},
		{"dualarch MLP plastic sizes on the Sta-Net", []string{"--preset", "dualarch-sfmnist-resnet", "--param", "plastic_hidden=[8]"},
			"dualarch: plastic_hidden [8] sizes an MLP plastic learner"},
		{"sgm over a base that refuses the model", []string{"--preset", "sgm-sfmnist-resnet", "--param", "base=owm", "--param", "base_params={}"},
			"owm: projects the inputs of fully connected layers and needs the mlp model, not resnet18r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "x.db")
			_, stderr, code := cleval(t, append([]string{"run", "--db", db, "--quiet", "--epochs", "1"}, tc.args...)...)
			msg := strings.TrimSpace(stderr)
			if code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, msg, tc.want)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("the database was created")
			}
		})
	}
}
