// Package harness is cleval's driver: Run trains a strategy on a stream and
// evaluates the model on every experience on the schedule of the
// configuration, handing every record to a Recorder. The driver owns the
// loop, the iteration clock, the evaluation schedule, seeding and
// cancellation; the strategy only performs updates.
//
// Evaluation schedule (t counts updates; e_k is t after the last update of
// experience k):
//
//   - at t = 0, e_1, ..., e_T the accuracy matrix: every experience's full
//     test split (row 0 is the randomly initialised model);
//   - at t = 0, every t that is a multiple of Eval.Every, and every e_k the
//     continual evaluation: the continual-evaluation subset of each seen
//     experience (k <= c(t)), and at e_k also of experience k+1 (its
//     accuracy before its first update, which LCA needs); with
//     Eval.Experiences = "all", every experience at every point.
//
// The loop follows a streams.Schedule: Epochs passes over each
// experience's training split in mini-batches (or a fixed number of
// Iterations), each mini-batch used for Repeat consecutive updates (online
// streams), optionally with blurry boundaries (batches mixing consecutive
// experiences over a transition window) and boundaries hidden from the
// strategy. Whatever the schedule, c(t) = k on (e_{k-1}, e_k].
//
// With two threads or more (and cleval's own engine) the continual
// evaluation of a point runs beside training: after update t the
// parameters are copied and evaluated by single-threaded workers while
// update t+1 trains, then the driver helps with the rest. Evaluations are
// cut into tasks of at most 256 rows that never mix experiences and are
// summed in task order, so the records are the same as in line.
//
// Every random stream derives from Config.Seed (see streams.NewRand), and
// the products run on an engine whose results do not depend on its thread
// count, so the same configuration gives bit-identical records whatever
// Spec.Threads is.
package harness
