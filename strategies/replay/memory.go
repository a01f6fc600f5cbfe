package replay

import (
	"math/rand/v2"

	"github.com/cleval/cleval/streams"
)

// Item is a reference to one stored training sample.
type Item struct {
	Exp   *streams.Experience
	Pos   int32 // position in Exp.Train
	Label int32
}

// Memory is a bounded store of training samples under one policy.
type Memory struct {
	policy   string
	capacity int
	// byClass[c] holds class c's items (class-balanced); byExp[i] the items
	// of the i-th experience stored (experience-balanced), in random order
	// so that a prefix is a uniformly random subset; items holds all items
	// (reservoir) or the flattened view of byClass or byExp.
	byClass [][]Item
	byExp   [][]Item
	seen    []int // samples of each class offered so far (class-balanced)
	items   []Item
	dirty   bool
	offered int // samples offered so far (reservoir; current experience for experience-balanced)
	perm    []int
}

// NewMemory returns an empty memory of the given policy and capacity over
// numClasses classes.
func NewMemory(policy string, capacity, numClasses int) *Memory {
	return &Memory{policy: policy, capacity: capacity, byClass: make([][]Item, numClasses), seen: make([]int, numClasses)}
}

// Len returns the number of stored samples.
func (m *Memory) Len() int {
	m.flatten()
	return len(m.items)
}

// Item returns the k-th stored sample (0 <= k < Len()). Class-balanced
// memories list classes in ascending order, experience-balanced memories
// experiences in the order they were stored.
func (m *Memory) Item(k int) Item { m.flatten(); return m.items[k] }

// ClassCounts returns how many samples of each class are stored.
func (m *Memory) ClassCounts() []int {
	out := make([]int, len(m.byClass))
	if m.policy == ClassBalanced {
		for c, items := range m.byClass {
			out[c] = len(items)
		}
		return out
	}
	m.flatten()
	for _, it := range m.items {
		out[it.Label]++
	}
	return out
}

func (m *Memory) flatten() {
	if m.policy == Reservoir || !m.dirty {
		return
	}
	m.items = m.items[:0]
	groups := m.byClass
	if m.policy == ExperienceBalanced {
		groups = m.byExp
	}
	for _, items := range groups {
		m.items = append(m.items, items...)
	}
	m.dirty = false
}

// Sample appends to dst the indices (for Item) of min(n, Len()) distinct
// stored samples drawn uniformly at random.
func (m *Memory) Sample(rng *rand.Rand, n int, dst []int) []int {
	m.flatten()
	L := len(m.items)
	if n > L {
		n = L
	}
	if len(m.perm) != L {
		m.perm = m.perm[:0]
		for i := range L {
			m.perm = append(m.perm, i)
		}
	}
	// Partial Fisher–Yates: whatever the current arrangement of perm, its
	// first n entries afterwards are a uniform random n-subset.
	for i := range n {
		j := i + rng.IntN(L-i)
		m.perm[i], m.perm[j] = m.perm[j], m.perm[i]
		dst = append(dst, m.perm[i])
	}
	return dst
}

// AddExperience adds exp to a class-balanced memory updated at experience
// end. With K the number of classes stored once exp is added, each class
// gets the quota q = capacity/K: classes holding more are cut to a
// uniformly random subset of q, then the samples of exp enter their
// class's quota by reservoir sampling over every sample of the class
// offered so far. Each class thus holds a uniformly random subset of all
// its samples seen (all of them when fewer than q): in class-incremental
// streams a random subset of the class's samples, in domain-incremental
// streams samples of every experience in proportion to their number.
func (m *Memory) AddExperience(rng *rand.Rand, exp *streams.Experience) {
	present := make([]bool, len(m.byClass))
	for _, c := range exp.Classes {
		present[c] = true
	}
	for p := range exp.Train.Len() {
		present[exp.Train.Label(int32(p))] = true
	}
	stored := 0
	for c, items := range m.byClass {
		if len(items) > 0 || present[c] {
			stored++
		}
	}
	if stored == 0 {
		return
	}
	q := m.capacity / stored
	for c, items := range m.byClass {
		if len(items) <= q {
			continue
		}
		for i := range q {
			j := i + rng.IntN(len(items)-i)
			items[i], items[j] = items[j], items[i]
		}
		m.byClass[c] = items[:q]
	}
	for p := range exp.Train.Len() {
		y := exp.Train.Label(int32(p))
		it := Item{Exp: exp, Pos: int32(p), Label: y}
		m.seen[y]++
		if len(m.byClass[y]) < q {
			m.byClass[y] = append(m.byClass[y], it)
			continue
		}
		if j := rng.IntN(m.seen[y]); j < q {
			m.byClass[y][j] = it
		}
	}
	m.dirty = true
}

// Offer presents one sample to a memory updated every step.
func (m *Memory) Offer(rng *rand.Rand, it Item) {
	if m.policy == Reservoir {
		m.offered++
		if len(m.items) < m.capacity {
			m.items = append(m.items, it)
			return
		}
		if j := rng.IntN(m.offered); j < m.capacity {
			m.items[j] = it
		}
		return
	}
	// Class-balanced reservoir sampling (CBRS).
	y := it.Label
	m.seen[y]++
	m.dirty = true
	total := 0
	largest := 0
	for _, items := range m.byClass {
		total += len(items)
		largest = max(largest, len(items))
	}
	if total < m.capacity {
		m.byClass[y] = append(m.byClass[y], it)
		return
	}
	if len(m.byClass[y]) < largest {
		// Replace a random sample of a largest class (the first largest
		// class in class order, for determinism).
		for c, items := range m.byClass {
			if len(items) == largest {
				j := rng.IntN(len(items))
				items[j] = items[len(items)-1]
				m.byClass[c] = items[:len(items)-1]
				break
			}
		}
		m.byClass[y] = append(m.byClass[y], it)
		return
	}
	if j := rng.IntN(m.seen[y]); j < len(m.byClass[y]) {
		m.byClass[y][j] = it
	}
}

// ExperienceCounts returns how many samples of each stored experience an
// experience-balanced memory holds, in the order they were stored.
func (m *Memory) ExperienceCounts() []int {
	out := make([]int, len(m.byExp))
	for i, items := range m.byExp {
		out[i] = len(items)
	}
	return out
}

// ExperienceQuotas returns the slots of each of k experiences in an
// experience-balanced memory of the given capacity: capacity/k each, and
// one more for the first capacity mod k (as Avalanche's
// ExperienceBalancedBuffer).
func ExperienceQuotas(capacity, k int) []int {
	q := make([]int, k)
	for i := range q {
		q[i] = capacity / k
		if i < capacity%k {
			q[i]++
		}
	}
	return q
}

// StartExperience prepares an experience-balanced memory updated every
// step for a new experience: the experiences already stored are cut to
// their new quotas (keeping a uniformly random subset: the prefix of their
// random order), and the new experience gets the last quota, filled by
// reservoir sampling over its samples (OfferExperience).
func (m *Memory) StartExperience() {
	k := len(m.byExp) + 1
	q := ExperienceQuotas(m.capacity, k)
	for i := range m.byExp {
		if len(m.byExp[i]) > q[i] {
			m.byExp[i] = m.byExp[i][:q[i]:q[i]]
		}
	}
	m.byExp = append(m.byExp, make([]Item, 0, q[k-1]))
	m.offered = 0
	m.dirty = true
}

// OfferExperience presents one sample of the current experience to an
// experience-balanced memory updated every step (after StartExperience):
// reservoir sampling into the current experience's quota, so that its
// stored samples are a uniformly random subset of those offered. Stored
// items are kept in random order (a new item goes to a random place), so
// that a later cut keeps a uniformly random subset.
func (m *Memory) OfferExperience(rng *rand.Rand, it Item) {
	cur := len(m.byExp) - 1
	items := m.byExp[cur]
	m.offered++
	if len(items) < cap(items) {
		items = append(items, it)
		j := rng.IntN(len(items))
		items[j], items[len(items)-1] = items[len(items)-1], items[j]
		m.byExp[cur] = items
		m.dirty = true
		return
	}
	if j := rng.IntN(m.offered); j < len(items) {
		items[j] = it
		m.dirty = true
	}
}

// AddExperienceBalanced adds exp to an experience-balanced memory updated
// at experience end: with k experiences stored, each gets a quota of
// ExperienceQuotas(capacity, k); earlier experiences are cut to theirs
// (keeping the prefix of their random order) and exp contributes a
// uniformly random subset of its training samples of its quota.
func (m *Memory) AddExperienceBalanced(rng *rand.Rand, exp *streams.Experience) {
	k := len(m.byExp) + 1
	q := ExperienceQuotas(m.capacity, k)
	for i := range m.byExp {
		if len(m.byExp[i]) > q[i] {
			m.byExp[i] = m.byExp[i][:q[i]:q[i]]
		}
	}
	n := exp.Train.Len()
	take := min(q[k-1], n)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	// Partial Fisher–Yates: the first take entries are a uniformly random
	// subset in random order.
	for i := range take {
		j := i + rng.IntN(n-i)
		pos[i], pos[j] = pos[j], pos[i]
	}
	items := make([]Item, take)
	for i, p := range pos[:take] {
		items[i] = Item{Exp: exp, Pos: p, Label: exp.Train.Label(p)}
	}
	m.byExp = append(m.byExp, items)
	m.dirty = true
}
