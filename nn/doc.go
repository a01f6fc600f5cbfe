// Package nn is cleval's small float32 neural-network engine: models over
// one flat parameter arena, one gradient arena of the same layout and one
// arena of non-parameter state (batch-norm running statistics), softmax
// cross-entropy with class masks, and optimizers (SGD with PyTorch's
// momentum and weight-decay semantics).
//
// A Model is built by name from a Spec (New; the architectures are listed
// by Archs) on a Compute, which owns the worker threads and the engine of
// the matrix products. Every choice of how to compute — thread count,
// cleval's own GEMM, a sparse first layer for inputs that are mostly
// zeros — stays inside the package: results never depend on the thread
// count, and callers see only arenas, workspaces and input sets.
//
// Training passes (Forward, Backward) use the model's own arenas and may
// update its state; evaluation passes (Infer, InferInputs) take the arenas
// to use, so that variants (EMA models) and snapshots (a teacher, an
// anchor) are evaluated with their own parameters and statistics without
// being copied into the model.
//
// Architectures: "mlp" (MLP), and the convolutional "resnet18r" (the
// reduced ResNet-18 of continual learning, width Spec.NF, default 20),
// "cnn" (three convolutions, for fast tests and quick experiments) and
// Dual-Arch's pair on the reduced ResNet-18, "resnet18r-sta" (resnet18r's
// width at half its depth, the last map pooled to 2×2) and
// "resnet18r-pla" (resnet18r's depth at the width that matches the
// Sta-Net's parameter count, PlaNetWidth), all ConvNets. A ConvNet's convolutions run on internal/conv's direct
// kernels with the samples of a batch in the vector lanes; its batch
// normalisations compute statistics per group of rows in training
// passes (Workspace.SetGroups, as when new and replayed samples are
// forwarded separately) and are folded into the convolutions in
// evaluation passes. Its running statistics live in State.
//
// Activations live in a Workspace sized once for the largest batch, so a
// training step or an evaluation allocates nothing. What some strategies
// need beyond the Model interface is a small interface of its own, found
// by type assertion: LinearLayers (the layers' inputs, for OWM),
// SampleGradients (per-sample squared gradients, for EWC's Fisher),
// FeatureGradients (a loss on the features, for PCR; MLP and ConvNet) and
// WeightMatrices (every hidden layer's weight as a matrix, for SGM's
// low-rank adapters; MLP and ConvNet).
package nn
