package requests

import "context"

// CallbacksTogether records the callbacks as one batch, as if all had
// arrived while the batch before committed; those the batch does not end
// are recorded alone, as Callback does.
func (s *Service) CallbacksTogether(ctx context.Context, bodies [][]byte) []error {
	errs := make([]error, len(bodies))
	var reqs []batchReq
	var at []int
	for i, b := range bodies {
		j, err := s.check(ctx, b)
		if err != nil {
			errs[i] = err
			continue
		}
		reqs = append(reqs, batchReq{ctx: ctx, j: j})
		at = append(at, i)
	}
	for k, res := range s.endBatch(reqs) {
		if res.err == nil && !res.ended {
			res.err = s.recordAlone(ctx, reqs[k].j)
		}
		errs[at[k]] = res.err
	}
	return errs
}
