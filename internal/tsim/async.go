package tsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request statuses as the status endpoint spells them.
const (
	StatusPending = "Pending"
	StatusSuccess = "Success"
	StatusFailure = "Failure"
)

// codeRequestNotFound answers a status read of a request id the account
// never had (exact code unconfirmed; it is an M2M 400 like the others).
const codeRequestNotFound = "UnifiedWebService.REQUEST_FAILED.Request.NotFound"

// AsyncOptions makes device actions behave as ThingSpace's do: the answer
// only queues the request; the change is applied Delay later, and its
// result is readable through the status endpoint and delivered to the
// account's CarrierService listener, if one is registered.
type AsyncOptions struct {
	Delay time.Duration // default 100ms
	// Retry is the wait between callback deliveries that got no 2xx
	// (ThingSpace: 5 minutes; default 100ms here).
	Retry time.Duration
	// MaxCallbacks is maxCallbackThreshold (default 4).
	MaxCallbacks int
	// Client delivers callbacks (default: 5 s timeout).
	Client *http.Client
}

// asyncMode is the simulator's asynchronous state; its own lock.
type asyncMode struct {
	mu        sync.Mutex
	on        bool
	opts      AsyncOptions
	requests  map[string]*asyncReq   // request id → request
	listeners map[string]Listener    // account "/" service → listener
	failNext  map[string]string      // account → fault text of its next action
	sent      []CallbackDelivery     // every delivery attempt, in order
	hold      map[string]bool        // "": hold new requests; id: held until Release
	wg        sync.WaitGroup         // completions and deliveries in flight
	timers    map[string]*time.Timer // pending completions
	statusN   map[string]int         // account → status reads
}

// asyncReq is one queued action and what it became.
type asyncReq struct {
	ID      string
	Account string
	Op      string
	User    string
	Body    actionBody
	Status  string
	Fault   string // faultstring of a failure
	Code    string // faultcode of a failure
	Foreign bool   // a change made outside the API (ThingSpace Manage)
}

// Listener is a registered callback listener.
type Listener struct {
	AccountName string `json:"accountName"`
	ServiceName string `json:"serviceName"`
	URL         string `json:"url"`
	Username    string `json:"-"`
	Password    string `json:"-"`
}

// CallbackDelivery is one attempt to deliver a callback.
type CallbackDelivery struct {
	RequestID string
	Account   string
	URL       string
	Count     int // callbackCount
	Status    int // the listener's HTTP status (0: no answer)
	Body      []byte
}

func newAsyncMode() *asyncMode {
	return &asyncMode{requests: map[string]*asyncReq{}, listeners: map[string]Listener{}, failNext: map[string]string{},
		hold: map[string]bool{}, timers: map[string]*time.Timer{}, statusN: map[string]int{}}
}

// SetAsync turns the asynchronous mode on with opts.
func (s *Server) SetAsync(opts AsyncOptions) {
	if opts.Delay <= 0 {
		opts.Delay = 100 * time.Millisecond
	}
	if opts.Retry <= 0 {
		opts.Retry = 100 * time.Millisecond
	}
	if opts.MaxCallbacks <= 0 {
		opts.MaxCallbacks = 4
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 5 * time.Second}
	}
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on, a.opts = true, opts
}

// FailNext makes account's next asynchronous action fail with fault.
func (s *Server) FailNext(account, fault string) {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failNext[account] = fault
}

// Hold keeps the completion of the requests queued from now on until
// Release (tests: a callback that must come at a chosen moment).
func (s *Server) Hold(on bool) {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hold[""] = on
}

// Release completes every held request now.
func (s *Server) Release() {
	a := s.async
	a.mu.Lock()
	var ids []string
	for id, h := range a.hold {
		if h && id != "" {
			ids = append(ids, id)
			delete(a.hold, id)
		}
	}
	a.mu.Unlock()
	for _, id := range ids {
		s.complete(id)
	}
}

// Wait blocks until every completion and delivery under way has ended.
func (s *Server) Wait() { s.async.wg.Wait() }

// RequestStatus returns a request's status ("" if unknown).
func (s *Server) RequestStatus(id string) string {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.requests[id]; ok {
		return r.Status
	}
	return ""
}

// StatusReads counts the status reads made for account.
func (s *Server) StatusReads(account string) int {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.statusN[account]
}

// Deliveries returns every callback delivery attempt so far.
func (s *Server) Deliveries() []CallbackDelivery {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]CallbackDelivery(nil), a.sent...)
}

// Listeners returns account's registered listeners.
func (s *Server) Listeners(account string) []Listener {
	a := s.async
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Listener
	for k, l := range a.listeners {
		if strings.HasPrefix(k, account+"/") {
			out = append(out, l)
		}
	}
	return out
}

func (a *asyncMode) enabled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.on
}

// queue answers an action in async mode: the account and devices are
// checked now (a 400 as before); the change is applied later.
func (s *Server) queue(w http.ResponseWriter, op, name string, b actionBody) {
	s.inv.mu.Lock()
	known := s.inv.accounts[b.AccountName]
	_, code, msg := s.inv.resolve(b)
	s.inv.mu.Unlock()
	if !known {
		code, msg = codeAccountNotFound, "The account "+b.AccountName+" was not found."
	}
	if code != "" {
		s.countDeviceCall(name, deviceRejected)
		writeM2MError(w, http.StatusBadRequest, code, msg)
		return
	}
	id := s.enqueue(asyncReq{Account: b.AccountName, Op: op, User: name, Body: b})
	s.countDeviceCall(name, deviceApplied)
	f := s.faultsOf(name)
	switch {
	case f.DeviceActionDropAfter:
		dropConnection(w)
	case f.DeviceActionFailAfter:
		writeProxyError(w)
	default:
		writeJSON(w, http.StatusOK, map[string]string{"requestId": id})
	}
}

// enqueue records q as pending and schedules its completion.
func (s *Server) enqueue(q asyncReq) string {
	a := s.async
	q.ID, q.Status = newRequestID(), StatusPending
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests[q.ID] = &q
	if a.hold[""] {
		a.hold[q.ID] = true
		return q.ID
	}
	a.wg.Add(1)
	id := q.ID
	a.timers[id] = time.AfterFunc(a.opts.Delay, func() {
		defer a.wg.Done()
		s.complete(id)
	})
	return id
}

// ForeignChange applies op to device id of account as ThingSpace Manage
// would, and delivers its callback with a request id the portal never saw.
func (s *Server) ForeignChange(account, op string, id DeviceID) string {
	var b actionBody
	b.AccountName = account
	b.Devices = append(b.Devices, struct {
		DeviceIDs []DeviceID `json:"deviceIds"`
	}{DeviceIDs: []DeviceID{id}})
	return s.enqueue(asyncReq{Account: account, Op: op, User: "manage", Body: b, Foreign: true})
}

// complete applies a queued request and delivers its callback.
func (s *Server) complete(id string) {
	a := s.async
	a.mu.Lock()
	r, ok := a.requests[id]
	if !ok || r.Status != StatusPending {
		a.mu.Unlock()
		return
	}
	fault := a.failNext[r.Account]
	delete(a.failNext, r.Account)
	delete(a.timers, id)
	a.mu.Unlock()
	code := ""
	if fault == "" {
		code, fault = s.inv.apply(r.Op, r.Body, r.User, s.now())
	} else {
		code = codeUnexpected
	}
	a.mu.Lock()
	r.Status, r.Code, r.Fault = StatusSuccess, "", ""
	if fault != "" {
		r.Status, r.Code, r.Fault = StatusFailure, code, fault
	}
	q := *r
	l, has := a.listeners[q.Account+"/"+ServiceCarrier]
	a.mu.Unlock()
	if has {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			s.deliver(l, q)
		}()
	}
}

// handleRequestStatus serves GET …/accounts/{aname}/requests/{id}/status.
func (s *Server) handleRequestStatus(w http.ResponseWriter, r *http.Request) {
	name := s.session(w, r)
	if name == "" {
		return
	}
	account, id := r.PathValue("aname"), r.PathValue("id")
	s.countDeviceCall(name, deviceList)
	a := s.async
	a.mu.Lock()
	a.statusN[account]++
	q, ok := a.requests[id]
	var st string
	if ok && q.Account == account {
		st = q.Status
	}
	a.mu.Unlock()
	if st == "" {
		writeM2MError(w, http.StatusBadRequest, codeRequestNotFound, "The request "+id+" was not found in account "+account+".")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": id, "status": st})
}

// readJSON reads a small JSON body into v.
func readJSON(r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	return err == nil && json.Unmarshal(data, v) == nil
}
