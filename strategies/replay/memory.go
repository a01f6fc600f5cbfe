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
	// byClass[c] holds class c's items (class-balanced); items holds all
	// items (reservoir) or the flattened view of byClass.
	byClass [][]Item
	seen    []int // samples of each class offered so far (class-balanced)
	items   []Item
	dirty   bool
	offered int // samples offered so far (reservoir)
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
// memories list classes in ascending order.
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
	for _, it := range m.items {
		out[it.Label]++
	}
	return out
}

func (m *Memory) flatten() {
	if m.policy != ClassBalanced || !m.dirty {
		return
	}
	m.items = m.items[:0]
	for _, items := range m.byClass {
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

// AddExperience adds every training sample of exp to a class-balanced
// memory and cuts each class to capacity / (classes stored) by a uniformly
// random subset.
func (m *Memory) AddExperience(rng *rand.Rand, exp *streams.Experience) {
	for p := range exp.Train.Len() {
		y := exp.Train.Label(int32(p))
		m.byClass[y] = append(m.byClass[y], Item{Exp: exp, Pos: int32(p), Label: y})
	}
	stored := 0
	for _, items := range m.byClass {
		if len(items) > 0 {
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
		m.byClass[c] = items[:q:q]
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
