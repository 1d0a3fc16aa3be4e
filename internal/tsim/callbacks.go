package tsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ServiceCarrier is the callback service of device state changes.
const ServiceCarrier = "CarrierService"

// callbackServices are the services a listener may be registered for.
var callbackServices = map[string]bool{ServiceCarrier: true, "DeviceUsage": true, "DiagnosticsService": true,
	"EnhancedConnectivityService": true, "ExternalProvisioningChanges": true, "SMSDeliveryConfirmation": true}

// registration is the body of POST /callbacks/{aname}.
type registration struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) asyncRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/m2m/v1/accounts/{aname}/requests/{id}/status", s.handleRequestStatus)
	m.HandleFunc("POST /api/m2m/v1/callbacks/{aname}", s.handleRegister)
	m.HandleFunc("GET /api/m2m/v1/callbacks/{aname}", s.handleListListeners)
	m.HandleFunc("DELETE /api/m2m/v1/callbacks/{aname}/name/{service}", s.handleDeregister)
}

// knownAccount answers 400 for an account the simulator does not hold.
func (s *Server) knownAccount(w http.ResponseWriter, account string) bool {
	s.inv.mu.Lock()
	ok := s.inv.accounts[account]
	s.inv.mu.Unlock()
	if !ok {
		writeM2MError(w, http.StatusBadRequest, codeAccountNotFound, "The account "+account+" was not found.")
	}
	return ok
}

// handleRegister registers (or replaces: one per account and service) a
// listener.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if s.session(w, r) == "" {
		return
	}
	account := r.PathValue("aname")
	var b registration
	if !readJSON(r, &b) {
		writeM2MError(w, http.StatusBadRequest, codeMalformed, "The request body is malformed.")
		return
	}
	u, err := url.Parse(b.URL)
	switch {
	case !callbackServices[b.Name]:
		writeM2MError(w, http.StatusBadRequest, codeInvalidInput, "name must be a callback service name.")
		return
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		writeM2MError(w, http.StatusBadRequest, codeInvalidInput, "url must be an http or https URL.")
		return
	}
	if !s.knownAccount(w, account) {
		return
	}
	a := s.async
	a.mu.Lock()
	a.listeners[account+"/"+b.Name] = Listener{AccountName: account, ServiceName: b.Name, URL: b.URL, Username: b.Username, Password: b.Password}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"accountName": account, "serviceName": b.Name})
}

func (s *Server) handleListListeners(w http.ResponseWriter, r *http.Request) {
	if s.session(w, r) == "" {
		return
	}
	account := r.PathValue("aname")
	if !s.knownAccount(w, account) {
		return
	}
	out := s.Listeners(account)
	if out == nil {
		out = []Listener{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeregister(w http.ResponseWriter, r *http.Request) {
	if s.session(w, r) == "" {
		return
	}
	account, service := r.PathValue("aname"), r.PathValue("service")
	if !s.knownAccount(w, account) {
		return
	}
	a := s.async
	a.mu.Lock()
	_, ok := a.listeners[account+"/"+service]
	delete(a.listeners, account+"/"+service)
	a.mu.Unlock()
	if !ok {
		writeM2MError(w, http.StatusBadRequest, codeInvalidInput, "No "+service+" listener is registered for "+account+".")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"accountName": account, "serviceName": service})
}

// callbackBody is a CarrierService message as ThingSpace sends it.
type callbackBody struct {
	Username             string          `json:"username,omitempty"`
	Password             string          `json:"password,omitempty"`
	RequestID            string          `json:"requestId"`
	DeviceIDs            []DeviceID      `json:"deviceIds"`
	DeviceResponse       json.RawMessage `json:"deviceResponse,omitempty"`
	FaultResponse        *faultResponse  `json:"faultResponse,omitempty"`
	Status               string          `json:"status"`
	CallbackCount        int             `json:"callbackCount"`
	MaxCallbackThreshold int             `json:"maxCallbackThreshold"`
}

type faultResponse struct {
	FaultCode   string `json:"faultcode"`
	FaultString string `json:"faultstring"`
}

// messages are q's callbacks, one per device as ThingSpace sends them.
func messages(l Listener, q asyncReq, max int) []callbackBody {
	var out []callbackBody
	for _, d := range q.Body.Devices {
		m := callbackBody{Username: l.Username, Password: l.Password, RequestID: q.ID, DeviceIDs: d.DeviceIDs, MaxCallbackThreshold: max}
		if q.Status == StatusSuccess {
			m.Status = "Success"
			resp := map[string]any{q.Op + "Response": map[string]any{"deviceIds": d.DeviceIDs}}
			m.DeviceResponse, _ = json.Marshal(resp) // maps of strings always encode
		} else {
			m.Status = "Failed"
			m.FaultResponse = &faultResponse{FaultCode: q.Code, FaultString: q.Fault}
		}
		out = append(out, m)
	}
	return out
}

// deliver posts q's callbacks to l until each gets a 2xx or the threshold
// is reached.
func (s *Server) deliver(l Listener, q asyncReq) {
	a := s.async
	a.mu.Lock()
	opts := a.opts
	a.mu.Unlock()
	for _, m := range messages(l, q, opts.MaxCallbacks) {
		for n := 1; n <= opts.MaxCallbacks; n++ {
			m.CallbackCount = n
			body, _ := json.Marshal(m) // plain structs always encode
			status := post(opts.Client, l.URL, body)
			a.mu.Lock()
			a.sent = append(a.sent, CallbackDelivery{RequestID: q.ID, Account: q.Account, URL: l.URL, Count: n, Status: status, Body: body})
			a.mu.Unlock()
			if status >= 200 && status < 300 {
				break
			}
			time.Sleep(opts.Retry)
		}
	}
}

func post(c *http.Client, u string, body []byte) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16)) // drain for reuse; the body means nothing
	return res.StatusCode
}
