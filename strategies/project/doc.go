// Package project implements the gradient-projection family as wrapper
// strategies: "agem" (A-GEM), "gem" (GEM) and "owm" (orthogonal weight
// modification). Each wraps another strategy (default "naive"), lets it
// compute its update's gradient as it would alone, and replaces that
// gradient by a projected one before the optimizer step (a
// strategies.GradientHook), so projection composes with replay as in Hess
// et al.: {"base": "er", "base_params": {...}} projects ER's combined
// gradient.
//
// A-GEM: the reference gradient g_ref is the gradient of the mean
// cross-entropy on sample_size samples drawn uniformly, without repetition,
// from an episodic memory holding memory_per_exp samples of every earlier
// experience (reference "memory"), or on the replayed rows of the wrapped
// strategy's own batch (reference "replay": Hess et al.'s ER + A-GEM, where
// the replay batch is both in the loss and the constraint). When g·g_ref <
// 0 the update's gradient becomes g − (g·g_ref)/(g_ref·g_ref + eps)·g_ref.
//
// GEM: one constraint per earlier experience k, with g_k the gradient of
// the mean cross-entropy on its stored samples (all of them by default,
// recomputed at every update, as in De Lange et al.'s setup). When some
// g·g_k < 0 the dual QP of GEM's code is solved exactly by an active-set
// method (NNQP) and g becomes g + Gᵀv; see GEM.Solve for the formulation,
// including the margin γ and the ridge eps as GEM's code applies them.
// Each experience's memory holds its first memory_per_exp training samples
// in loader order (GEM's code, Avalanche's GEMPlugin) or a random subset.
// Composed with er, GEM keeps its own memory (Hess et al.'s ER + GEM draws
// the replay batch from GEM's memory instead).
//
// OWM: see the OWM type.
//
// Memories store references to training samples, gathered when used.
package project
