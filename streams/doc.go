// Package streams holds the continual-learning vocabulary: an Experience
// (a set of classes with its train, test and optional validation views), a
// Stream (the seeded sequence of experiences), the Batch a strategy trains
// on, the generators that cut labelled datasets into streams, and the
// Schedule the driver walks them with.
//
// Experiences are numbered from 1 in stream order, as in the metric
// definitions. Views hold sample indices into a datasets.Dataset; pixels stay
// uint8 until a batch is gathered into a float32 buffer.
//
// # Shapes
//
// Every generator gives its stream the shape of the dataset's samples,
// Stream.InputShape (C×H×W: MNIST 1×28×28, CIFAR 3×32×32, a table
// 1×1×features unless it declares an image shape; datasets.Dataset.CHW),
// with InputDim = C·H·W; a gathered row is one sample in CHW order.
// Stream.Shape falls back to the flat 1×1×InputDim for streams built by
// hand. Shape has the fields of nn.Shape.
//
// # Generators and scenarios
//
//   - SplitClasses cuts the classes into experiences (Split-MNIST):
//     class-incremental (one head), task-incremental (each experience a
//     task, outputs masked to its classes: Stream.Mask) or
//     domain-incremental (each experience's classes relabelled 0, 1, ...).
//     N experiences get C/N classes each and the first C mod N one more
//     (ExperienceSizes), unless SplitConfig.Sizes says otherwise.
//   - Domains makes one experience per dataset or transformation of it:
//     Permuted (seeded pixel permutations: of pixel positions, alike in
//     every channel, on images of several channels) and Rotated (bilinear
//     rotations of every channel).
//     Domain-incremental keeps the labels; class- and task-incremental
//     offset each experience's labels by the classes of those before it.
//   - Concat chains streams (MNIST experiences, then Fashion-MNIST ones)
//     with the same rule for labels.
//   - ByTask cuts along a dataset's task column (the user's own tasks).
//   - HoldOut moves a stratified fraction of each experience's training
//     samples into its Valid view (the validation evaluation protocol).
//
// Domain-incremental transformations live in the View (View.Map) and are
// applied when samples are gathered, so the dataset is never copied: 20
// rotated copies of MNIST would hold 1.1 GB; the maps hold a few kB, and the
// gathered values are bit-identical to those of a stored transformed uint8
// copy. A replay buffer that stores (experience, position) references
// gathers through the experience's View and so gets the transformed sample.
// Label relabelling also lives in the View (View.Labels).
//
// # Schedules
//
// Schedule says how many mini-batches each experience gets (epochs or a
// fixed number of iterations), how many consecutive updates are made on
// each (online streams: Repeat), and how consecutive experiences blur into
// each other (Blur): see Schedule for the mixing proportions and the meaning
// of c(t) and e_k on blurry streams.
//
// # Augmentation
//
// An Augmenter writes augmented copies of training samples into another
// buffer, drawing from a generator its caller gives (a run's
// NewRand(seed, RandAugment)), without allocating. CropFlip is the random
// crop with zero padding and the horizontal flip of the CIFAR experiments
// ("crop-flip" for NewAugmenter); PCRAugment is the heavier family of PCR
// (random resized crop, flip, colour jitter, grey; "pcr"). Their
// documentation gives the order of the draws and how they differ from
// torchvision.
//
// # Randomness
//
// Every generator draws from NewRand(seed, purpose) with its own purpose
// number (RandStream for class orders, RandPermutation for pixel
// permutations, RandValidation for hold-outs, RandAugment for data
// augmentation), so the same seed gives the same stream and adding a
// consumer never shifts another.
package streams
