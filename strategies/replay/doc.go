// Package replay implements experience replay (ER): each update uses the
// new batch together with a batch drawn from a bounded memory of past
// samples.
//
// The memory stores references (experience, position in its training view),
// not copies: pixels stay in the dataset as uint8 and are gathered when
// replayed.
//
// Buffer policies:
//
//   - "class-balanced", updated at experience end (the De Lange et al.
//     setup): when an experience ends, every training sample of its classes
//     is added, then each class holding more than mem_size / (classes seen)
//     samples is cut to that quota by a uniformly random subset.
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
//
// A replay batch is a uniformly random subset, without repetition, of the
// stored samples (all of them when fewer than replay_batch_size are stored).
// With a class-balanced memory every class holds the same number of samples
// (up to one), so this draws classes uniformly.
//
// Loss: "concat" minimises the mean cross-entropy over the concatenated
// batch (new + replay); "weighted" minimises λ·mean CE(new) + (1−λ)·mean
// CE(replay), and λ·mean CE(new) while the memory is empty.
package replay
