// Package sgm implements SGM, stability gap mitigation (Harun & Kanan,
// "Overcoming the stability gap in continual learning", TMLR 2024), as the
// wrapper strategy "sgm" over any rehearsal strategy: the wrapped strategy
// computes its update as it would alone, and four components, each on or
// off by the parameter components, change it.
//
// The paper starts from a network pretrained on base classes and applies
// SGM in every later session. Here the experiences before start (default
// 2: experience 1 plays the pretrained base) are trained by the wrapped
// strategy alone; every component acts from experience start on. "Old
// classes" are the classes of the experiences before the current one.
//
// # init: data-driven initialisation of the new output units
//
// At the start of an experience, for each class c of the experience, the
// output weight vector of c (the head's column c, In values) is set to the
// mean over the experience's training samples of class c of their
// unit-length penultimate embeddings z/‖z‖ (z = Features, computed in
// evaluation mode, ‖z‖ floored at 1e-12 as F.normalize). The bias of c is
// kept (init_bias "keep", as the authors' code, which sets the weight rows
// only) or set to 0 ("zero").
//
// # soft: dynamic soft targets
//
// The cross-entropy of every row is replaced by a cross-entropy with a soft
// target q (the authors' rule): with p = softmax(z) of the row, its label y
// and its predicted class ŷ = argmax p,
//
//	q ← S[y] if y is an old class, else p (the model's own probabilities,
//	    held constant);  then q[ŷ] ← 1/C;  q[y] ← 1;  q ← q/Σq
//
// over all C outputs. S[y] is the running mean, since the start of the
// experience, of the softmax of the rows of class y that the model
// classified correctly (accumulated from every update's rows before its
// loss, and taken into S after the update); a class with no such row yet
// has the uniform S[y] = 1/C. The row's loss is −Σ_c q_c log p_c, weighted
// as the wrapped strategy weights the row's cross-entropy, and its
// gradient with respect to z is p − q. Segments whose softmax is restricted
// (task masks, masking) keep the plain cross-entropy, so on
// task-incremental streams the component does nothing.
//
// # lora: low-rank adapters on the hidden layers
//
// During an experience the hidden layers' weights are W = W0 + s·P·Q with
// W0 frozen (the weights at the experience start), P (In×r) and Q (r×Out)
// trained, s = lora_alpha/rank (loralib's scaling), and the hidden biases
// frozen; only the adapters and the output layer learn. P starts as
// loralib's A (Kaiming-uniform with a = √5: U(±1/√In)) and Q at 0, so
// W = W0 at the start. The gradients are dP = s·G·Qᵀ and dQ = s·Pᵀ·G, G
// the gradient of W; the adapters are updated by an SGD of their own with
// the run's optimizer configuration and lora_lr_scale times its learning
// rate, and W is recomputed after every update. At the experience end the
// adapters are merged (W0 ← W0 + s·P·Q, which is the W the forward pass
// already used) and new ones drawn. The rank limits how far the
// representation can move within an experience.
//
// # oocf: old-output-class freezing
//
// The output weights and biases of the old classes are not updated: they
// are restored after every update, so they stay bit-identical through the
// experience whatever the optimizer does (momentum, weight decay). The
// authors' code zeroes their gradients instead, which under weight decay
// still moves them.
//
// # Choices the paper and code leave open
//
// The paper trains a pretrained ConvNeXt-V2 with AdamW and a one-cycle
// schedule, LoRA rank 48 with loralib's default alpha 1 (scaling 1/48);
// Adam's steps do not depend on that scale. With plain SGD they do: a
// step changes W by about lr·s²·(P·Pᵀ·G + G·Qᵀ·Q), and at the start
// (Q = 0, P·Pᵀ ≈ r/(3·In)·I) that is lr·s²·r/(3·In) times the full
// fine-tuning step. The default s = 5 (rank 48, lora_alpha 240) makes that
// factor about 1 for the 400-unit layers of the reference MLP
// (25·48/1200), so the rank, not a vanishing step, limits how far the
// representation moves; s = 1 (lora_alpha = rank) leaves the adapters
// about 25 times slower than full fine-tuning there. The first
// experiences (before start) are the base training, which the paper does
// on ImageNet.
// Old classes in domain-incremental streams are every class seen, so oocf
// freezes the whole head there.
//
// # Models
//
// init and soft use only the model's features and head (any nn.Model);
// oocf the head; lora needs nn.WeightMatrices: on an MLP the hidden
// layers' weights, on a ConvNet every convolution's kernel as a
// Cout×(Cin·K·K) matrix (the 1×1 shortcuts included). While the adapters
// train, every parameter outside the head that is not an adapted matrix
// is frozen (restored after each update): the hidden biases of an MLP,
// the batch normalisations' weights and biases of a ConvNet. The batch
// normalisations' running statistics are model state, not parameters:
// training passes update them as usual. A model without WeightMatrices is
// refused once its spec is known, before anything runs.
//
// # Reference measures
//
// The paper's stability gap, plasticity gap and continual-knowledge gap
// relative to an upper-bound model are computed by cleval report
// --reference GROUP (package metrics/report).
package sgm
