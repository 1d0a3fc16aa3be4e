package notify

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/uwsportal/uwsportal/internal/notify/channel"
	"github.com/uwsportal/uwsportal/internal/store"
)

// WorkerOptions tune a Worker; zero values take the defaults.
type WorkerOptions struct {
	Interval    time.Duration // between passes (2 s)
	Batch       int           // deliveries claimed at once (20)
	Parallel    int           // deliveries sent at once (4)
	Lease       time.Duration // a claim's lease (2 min): longer than Batch/Parallel sends at their timeout
	MaxAttempts int           // before a delivery is given up (12, about five hours)
	BackoffBase time.Duration // first retry (30 s), doubling up to BackoffMax (1 h)
	BackoffMax  time.Duration
	ScanEvery   time.Duration // how often due credentials and expiring clients are looked for (10 min)
	Retention   time.Duration // finished notifications are kept this long (30 days)
	// Sweeps run once per pass (the approvals' expiry).
	Sweeps []func(context.Context) (int, error)
}

// Worker sends the outbox. Every instance runs one: claims are leased
// rows (FOR UPDATE SKIP LOCKED), so each message has one sender at a time.
type Worker struct {
	s        *Service
	o        WorkerOptions
	lastScan time.Time
}

// NewWorker returns a worker over the service.
func (s *Service) NewWorker(o WorkerOptions) *Worker {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, 2*time.Second)
	def(&o.Lease, 2*time.Minute)
	def(&o.BackoffBase, 30*time.Second)
	def(&o.BackoffMax, time.Hour)
	def(&o.ScanEvery, 10*time.Minute)
	def(&o.Retention, 30*24*time.Hour)
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	return &Worker{s: s, o: o}
}

// Run makes a pass every Interval until ctx ends. A send in flight when
// ctx ends finishes (or times out) and is recorded.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		if _, err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.s.Log.Error("notification pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PassResult says what one pass did.
type PassResult struct {
	Queued, FannedOut, Sent, Retried, Failed int
}

// Pass scans (when due), fans the outbox out and sends what is due, until
// nothing is left to send now.
func (w *Worker) Pass(ctx context.Context) (PassResult, error) {
	var res PassResult
	var errs []error
	now := w.s.Now()
	if w.lastScan.IsZero() || now.Sub(w.lastScan) >= w.o.ScanEvery {
		n, err := w.s.Scan(ctx)
		res.Queued = n
		if err != nil {
			errs = append(errs, err)
		} else {
			w.lastScan = now
		}
		if _, err := w.s.DB.PruneNotifications(ctx, now.Add(-w.o.Retention)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sweep := range w.o.Sweeps {
		if _, err := sweep(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for ctx.Err() == nil {
		n, err := w.s.DB.FanOut(ctx, w.s.Now(), 100, w.s.MailEnabled)
		res.FannedOut += n
		if err != nil {
			errs = append(errs, err)
			break
		}
		if n < 100 {
			break
		}
	}
	for ctx.Err() == nil {
		ds, err := w.s.DB.ClaimDeliveries(ctx, w.s.Now(), w.o.Lease, w.o.Batch)
		if err != nil {
			errs = append(errs, err)
			break
		}
		w.sendAll(ctx, ds, &res)
		if len(ds) < w.o.Batch {
			break
		}
	}
	return res, errors.Join(errs...)
}

// sendAll sends claimed deliveries, Parallel at a time, and records each
// result, even if ctx ends meanwhile (the send happened or not; the row
// must say which).
func (w *Worker) sendAll(ctx context.Context, ds []store.Delivery, res *PassResult) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, w.o.Parallel)
	for _, d := range ds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			result := w.deliver(ctx, d)
			mu.Lock()
			defer mu.Unlock()
			switch result {
			case "sent":
				res.Sent++
			case "retry":
				res.Retried++
			default:
				res.Failed++
			}
		}()
	}
	wg.Wait()
}

// deliver sends one delivery and records the outcome: sent, retry or failed.
func (w *Worker) deliver(ctx context.Context, d store.Delivery) string {
	s := w.s
	err := s.send(ctx, d)
	rec := context.WithoutCancel(ctx)
	now := s.Now()
	result := "sent"
	if err == nil {
		err = s.DB.DeliverySent(rec, d.ID, d.Attempt, now)
	} else {
		final := channel.IsPermanent(err) || d.Attempt >= w.o.MaxAttempts
		result = "retry"
		if final {
			result = "failed"
		}
		s.Log.Warn("notification not delivered", "delivery", d.ID, "kind", d.Kind, "attempt", d.Attempt, "final", final, "err", err)
		err = s.DB.DeliveryFailed(rec, d.ID, d.Attempt, now, now.Add(w.backoff(d.Attempt)), final, err.Error())
	}
	if err != nil {
		s.Log.Error("record notification delivery", "delivery", d.ID, "err", err)
	}
	if s.Metrics != nil {
		s.Metrics.Notifications.WithLabelValues(string(d.Kind), result).Inc()
	}
	return result
}

// backoff is BackoffBase × 2^(attempt−1), capped, with ±20 % jitter.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.o.BackoffBase
	for i := 1; i < attempt && d < w.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.o.BackoffMax)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
