package tsim

import "net/http"

// Admin API for devices: POST /_tsim/accounts/{account}/devices takes
// {"count":N,"seed":S} and adds N seeded devices to the account (creating
// it); GET /_tsim/accounts/{account}/devices/{id} shows the device that has
// identifier id of any kind.

// maxSeed bounds one admin seeding request.
const maxSeed = 1_000_000

func (s *Server) handleAdminSeedDevices(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Count int   `json:"count"`
		Seed  int64 `json:"seed"`
	}
	if !decodeBody(r, &in) || in.Count < 0 || in.Count > maxSeed {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"count":N,"seed":S} with 0 <= N <= 1000000`})
		return
	}
	account := r.PathValue("account")
	s.SeedDevices(account, in.Count, in.Seed)
	n, _ := s.AccountDevices(account) // the account exists now
	writeJSON(w, http.StatusOK, map[string]any{"account": account, "devices": n})
}

func (s *Server) handleAdminGetDevice(w http.ResponseWriter, r *http.Request) {
	d, ok := s.Device(r.PathValue("account"), r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such device"})
		return
	}
	writeJSON(w, http.StatusOK, d)
}
