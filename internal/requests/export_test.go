package requests

import "context"

// CallbacksTogether records the callbacks as one batch, as if all had
// arrived while the batch before committed; those the batch does not end
// are recorded alone, as Callback does.
func (s *Service) CallbacksTogether(ctx context.Context, bodies [][]byte) []error {
	errs := make([]error, len(bodies))
	reqs := make([]batchReq, 0, len(bodies))
	index := map[*job]int{}
	for i, b := range bodies {
		j, err := s.check(ctx, b)
		if err != nil {
			errs[i] = err
			continue
		}
		index[j] = i
		reqs = append(reqs, batchReq{ctx: ctx, j: j, done: make(chan batchResult, 1)})
	}
	s.endBatch(reqs)
	for _, r := range reqs {
		res := <-r.done
		if res.err == nil && !res.ended {
			res.err = s.recordAlone(ctx, r.j)
		}
		errs[index[r.j]] = res.err
	}
	return errs
}
