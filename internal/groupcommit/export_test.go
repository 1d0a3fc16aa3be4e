package groupcommit

// Queued is how many values wait for the next batch.
func (q *Queue[T, R]) Queued() int { return len(q.reqs) }
