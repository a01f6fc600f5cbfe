// Package pcr implements PCR, proxy-based contrastive replay (Lin et al.,
// "PCR: Proxy-based contrastive replay for online class-incremental
// continual learning", CVPR 2023), as the strategy "pcr", following the
// authors' public code.
//
// # The update
//
// Each update draws up to replay_batch_size samples uniformly at random,
// without replacement, from a reservoir memory of mem_size samples, and
// forms the batch B = [memory, aug(memory), new, aug(new)] (an augmented
// view of each row, see below; with no augmentation component
// B = [memory, new]). While the memory is empty there is no update (the
// authors' code steps the optimizer on a zero loss). After the update the
// new batch's samples are offered to the memory (reservoir sampling, on
// the first of a mini-batch's repeated updates).
//
// With z_i the penultimate features of row i, ẑ_i = z_i/(‖z_i‖ + 10⁻⁶),
// w_c the output weights of class c (the proxy) and ŵ_c = w_c/(‖w_c‖ +
// 10⁻⁶), s_ic = ẑ_i·ŵ_c. The contrast vector of each row j is the proxy of
// its label, so for anchor i the denominator runs over the rows of B (with
// repeats: n_c rows of class c) and there is no self-mask:
//
//	L = (1/N) Σ_i −[ s_{i,y_i}/τ − log Σ_{c present in B} n_c·exp(s_ic/τ) ]
//
// (the supervised contrastive loss of the code's "proxy" mode: the mean
// over the positives j of s_{i,y_j}/τ is s_{i,y_i}/τ). τ = 0.09. ce_weight
// (default 0, as the code) adds that weight times the mean cross-entropy
// of the cosine classifier's logits s_ic/τ over all classes. The gradient
// reaches the features through nn.FeatureGradients (the loss has a
// component along ẑ_i, which cannot pass through the linear head) and the
// proxies through the head's weight gradient. The update goes through
// strategies.WeightedStep (segments of weight 0, the loss as the
// strategy's own hooks), so PCR composes with every wrapper.
//
// # The classifier
//
// The classifier is a cosine classifier without bias: logits ŵ_c·ẑ/τ.
// During an update the model's head holds the raw proxies w_c (the
// optimizer updates them, with its momentum, as PyTorch's would) and zero
// biases. Between updates, for evaluation, the head holds ŵ_c/τ and the
// biases are 0 for the classes seen so far (labels of the batches trained
// on) and −10⁹ for the others (the code's masked_fill): the evaluated
// model's argmax is the cosine classifier's argmax over the seen classes.
// Its logits are ‖z‖·cos/τ, so the recorded evaluation loss is the
// cross-entropy of those, not of cos/τ.
//
// # Augmentation
//
// As the code's transforms on 1-channel images: a random resized crop
// (area fraction in [crop_scale_min, 1], default 0.2, aspect ratio
// log-uniform in [3/4, 4/3], bilinear back to the full size), a horizontal
// flip with probability 0.5, and with probability 0.8 a colour jitter of
// brightness 0.4 and contrast 0.4 in random order (saturation, hue and the
// random grayscale of the code do nothing on one channel). It is computed
// in float32 on [0, 1] values, without the code's round trip through 8-bit
// PIL images, seeded from the strategy's random stream. Each component is
// switched by the parameter augment; images of more than one channel are
// refused with augmentation on.
//
// # Choices
//
// The paper's network is a reduced ResNet-18; here any model with
// nn.FeatureGradients (the MLP and every ConvNet: resnet18r, cnn and
// Dual-Arch's pair). The method is class-incremental: on task-incremental
// streams the loss ignores the task masks (the evaluation applies them).
package pcr
