// Package groupcommit runs work that arrives together as one batch: what
// callers hand in while a batch runs makes the next one. The audit's
// appends and the callbacks that end device requests use it to share one
// transaction, and so one WAL flush, among many callers.
package groupcommit

import "sync"

// Queue runs the values given to Do in batches of at most Max, through
// Run, one batch at a time. Run returns one result per value, in order.
type Queue[T, R any] struct {
	Max int
	Run func(batch []T) []R

	once sync.Once
	reqs chan item[T, R]
}

type item[T, R any] struct {
	v    T
	done chan R
}

// Do queues v and returns its result once its batch has run.
func (q *Queue[T, R]) Do(v T) R {
	q.once.Do(func() {
		q.reqs = make(chan item[T, R], q.Max)
		go q.loop()
	})
	it := item[T, R]{v: v, done: make(chan R, 1)}
	q.reqs <- it
	return <-it.done
}

func (q *Queue[T, R]) loop() {
	for first := range q.reqs {
		batch := []item[T, R]{first}
	drain:
		for len(batch) < q.Max {
			select {
			case it := <-q.reqs:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		vs := make([]T, len(batch))
		for i, it := range batch {
			vs[i] = it.v
		}
		for i, r := range q.Run(vs) {
			batch[i].done <- r
		}
	}
}
