// Package nn is cleval's small float32 neural-network engine: a multilayer
// perceptron over one flat parameter arena and one flat gradient arena of the
// same layout, softmax cross-entropy with optional class masks, and SGD with
// momentum and weight decay (PyTorch semantics).
//
// Models keep no per-call state: activations live in a Workspace sized once
// for the largest batch, so a training step or an evaluation allocates
// nothing. All matrix products go through an Engine; results do not depend
// on the engine's thread count.
package nn
