// Package streams holds the continual-learning vocabulary: an Experience
// (a set of classes with its train and test views), a Stream (the seeded
// sequence of experiences), the Batch a strategy trains on, and the
// generators that cut labelled datasets into streams.
//
// Experiences are numbered from 1 in stream order, as in the metric
// definitions. Views hold sample indices into a datasets.Dataset; pixels stay
// uint8 until a batch is gathered into a float32 buffer.
package streams
