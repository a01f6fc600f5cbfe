// Package dualarch implements Dual-Arch (Lu et al., "Rethinking the
// stability-plasticity trade-off in continual learning from an
// architectural perspective", ICML 2025) as the wrapper strategy
// "dualarch" over any strategy.
//
// Two networks learn the stream. The plastic learner, deep and thin, is
// trained with plain cross-entropy on the current experience only and
// never regularised, so it learns each new experience well (and forgets).
// The stable learner, wide and shallow, is the run's model: it is trained
// by the wrapped strategy (replay, distillation, ...) with a distillation
// term from the plastic learner added, and it is the evaluated model. The
// plastic learner is evaluated too, as the model variant "plastic" (a
// variant of its own architecture).
//
// # The stable learner's loss
//
// As the authors' code: every segment of the wrapped strategy's loss is
// weighted by 1 − weight and the distillation term is added with weight
// weight (default 0.5, the code's (CE + KD)/2), on every row of the batch
// (new and replayed): with z the stable learner's logits and t the plastic
// learner's (evaluation mode), restricted to the distilled classes,
//
//	KD(row) = −Σ_c softmax(t/T)_c · log softmax(z/T)_c
//
// (a cross-entropy with soft targets, without the T² factor, as the
// code), averaged over the segment's rows and weighted like its
// cross-entropy. Its gradient with respect to z is (softmax(z/T) −
// softmax(t/T))/T. T = 3 (the code's value for datasets other than
// CIFAR-100, where it is 4). The distilled classes are those of the
// experiences so far (kd_classes "seen": the code's head holds only the
// classes seen) or every class ("all"); in task-incremental streams each
// row's task classes among them.
//
// # The plastic learner's training
//
// With plastic_schedule "before" (default, as the code) the plastic
// learner is trained at the start of each experience, before the stable
// learner, for as many updates as the driver gives the experience (one
// epoch when it does not say), on mini-batches of the run's batch size
// drawn in epochs of fresh permutations of the experience's training data;
// it then teaches with fixed weights throughout the experience. With
// "interleaved" (online streams, hidden boundaries) it makes one update on
// each incoming mini-batch just before the stable learner's. It keeps its
// weights across experiences and is optimised by an SGD of its own with
// the run's optimizer configuration (plastic_lr_scale times its learning
// rate). Its cross-entropy runs over every output.
//
// # Shapes
//
// The stable learner is the run's model (its hidden sizes are the run's
// hidden). The plastic learner is an MLP with the hidden sizes
// plastic_hidden, or by default plastic_depth (4) equal hidden layers of
// the width that gives it the largest parameter count not above the
// stable learner's: a deep, thin network of about the same size (the
// paper's pairing of a wide, shallow Sta-Net with a deep, thin Pla-Net of
// matching parameter count).
//
// # Choices the paper and code leave open
//
// The code trains the plastic learner on the current task's data together
// with the iCaRL exemplars (its training loader includes the memory);
// here it sees the current experience only, as the method is described.
// The plastic learner's cross-entropy covers every output (the code's head
// grows with the classes seen).
//
// # Models
//
// The stable learner is the run's model: an MLP (the plastic learner an
// MLP sized as above) or the paper's Sta-Net on the reduced ResNet-18,
// model "resnet18r-sta" (resnet18r's width nf at half its depth, one
// BasicBlock per stage, the last map average-pooled to 2×2, so the head
// sees four times resnet18r's features); its plastic learner is then the
// Pla-Net "resnet18r-pla" (resnet18r's depth, two blocks per stage, global
// average pooling, at the largest width whose parameter count does not
// exceed the Sta-Net's: 13 for nf 20 on 1-channel images with 10
// classes). The authors' code builds both from its ResNet-18 with the
// pooled map of the Sta-Net 2×2 ("final_size"). Other models (resnet18r,
// cnn) have no such pair and are refused at validation.
package dualarch
