// Package replay implements experience replay: "er" (each update uses the
// new batch together with a batch drawn from a bounded memory of past
// samples) and "er-ace" (ER with the asymmetric cross-entropy of Caccia et
// al., 2022).
//
// The memory stores references (experience, position in its training view),
// not copies: pixels stay in the dataset as uint8 and are gathered when
// replayed.
//
// Buffer policies and update timings ("update"):
//
//   - "class-balanced", updated at experience end (the De Lange et al.
//     setup): with K classes stored once the experience is added, each
//     class gets mem_size / K slots (the remainder of the division stays
//     free); classes holding more are cut to a uniformly random subset, and
//     the experience's samples enter their class's slots by reservoir
//     sampling over all the samples of that class seen so far. So each
//     class holds a uniformly random subset of its samples: in
//     class-incremental streams, of the one experience that brought it; in
//     domain-incremental streams, of every experience in proportion (as
//     Avalanche's ClassBalancedBuffer).
//   - "class-balanced", updated every step: class-balanced reservoir
//     sampling (CBRS, Chrysakis & Moens 2020): while the memory has room a
//     sample is stored; otherwise a sample of a class that is not among the
//     largest replaces a random sample of a largest class, and a sample of a
//     largest class replaces a random sample of its own class with
//     probability (stored of its class)/(seen of its class).
//   - "reservoir", updated every step: reservoir sampling over all samples
//     seen (Vitter's algorithm R): the n-th sample (1-based) is stored when
//     n <= mem_size, else replaces slot j for j uniform in [0, n) when
//     j < mem_size.
//   - "reservoir", updated at experience end: the same algorithm fed with the
//     experience's training samples in view order when the experience ends.
//   - "experience-balanced" (a per-experience quota, as Avalanche's
//     ExperienceBalancedBuffer): with k experiences stored each gets
//     mem_size/k slots, the first mem_size mod k one more. Updated at
//     experience end, experience k contributes a uniformly random subset of
//     its training samples and the earlier ones are cut to their new quota
//     by keeping a uniformly random subset of what they hold (nested: a
//     sample dropped once never returns). Updated every step, the earlier
//     experiences are cut when experience k starts and experience k's
//     samples enter its quota by reservoir sampling.
//   - "experience-start": the experience-end update made when the
//     experience starts instead, so that the memory also holds the current
//     experience's data (Avalanche's offline ER_ACE does this).
//
// A replay batch is a uniformly random subset, without repetition, of the
// stored samples (all of them when fewer than replay_batch_size are stored).
// With a class-balanced memory every class holds the same number of samples
// (up to one), so this draws classes uniformly.
//
// ER's loss: "concat" minimises the mean cross-entropy over the
// concatenated batch (new + replay); "weighted" minimises λ·mean CE(new) +
// (1−λ)·mean CE(replay), and λ·mean CE(new) while the memory is empty. The
// λ schedule "constant" uses lambda throughout; "inverse" uses λ_t =
// lambda/(t+1) during the experience with 0-based index t (Hess et al.'s
// do_decay_lmbda: λ is multiplied by t/(t+1) when experience t+1 starts),
// so lambda = 1 gives 1, 1/2, 1/3, ...: the new data weighs as one
// experience among the t+1 seen.
//
// ER-ACE's three masking conventions, found in public code, differ in which
// logits of the new batch are masked and how the losses combine. In all of
// them the replayed samples get the plain cross-entropy over all classes,
// and masked logits are −∞ (no probability, no gradient):
//
//   - "avalanche" (Avalanche's ACECriterion): the new batch's softmax is
//     restricted to the classes present in the batch; loss = (CE(new) +
//     CE(replay))/2. Until the memory holds replay_batch_size samples the
//     new batch alone gets the plain cross-entropy over all classes.
//   - "avalanche-alpha" (newer Avalanche ER_ACE with alpha): the same with
//     loss = α·CE(new) + (1−α)·CE(replay).
//   - "aml" (Caccia et al.'s code and Mammoth's er_ace): from the second
//     experience on, the new batch's softmax keeps the classes present in
//     the batch and every class whose index is >= the largest class index
//     seen so far (the code's mask[:, seen.max():] = 1, which keeps future
//     classes when they come in ascending index order, and the largest
//     seen class even when it is absent from the batch); loss = CE(new) +
//     CE(replay), with replay only from the second experience on. During
//     the first experience the new batch gets the plain cross-entropy.
package replay
