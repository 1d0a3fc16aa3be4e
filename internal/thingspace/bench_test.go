package thingspace_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// The Bare benchmarks do the same HTTP exchanges as the client with plain
// net/http (JSON encode, headers, read and decode), so the ratio is the
// client's own overhead.

func BenchmarkClientLogin(b *testing.B) {
	env := newSimEnv(b)
	c, _ := newClient(b, env.rest(b), 2)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.TestLogin(b.Context(), cred(testPassword)); err != nil { // login + logout
			b.Fatal(err)
		}
	}
}

func BenchmarkBareHTTPLogin(b *testing.B) {
	env := newSimEnv(b)
	bearer := bareToken(b, env)
	b.ReportAllocs()
	for b.Loop() {
		var out struct {
			SessionToken string `json:"sessionToken"`
		}
		bareDo(b, env, http.MethodPost, "/api/m2m/v1/session/login", bearer, "",
			map[string]string{"username": testUser, "password": testPassword}, &out)
		bareDo(b, env, http.MethodPost, "/api/m2m/v1/session/logout", bearer, out.SessionToken, nil, nil)
	}
}

func BenchmarkClientCall(b *testing.B) {
	env := newSimEnv(b)
	c, _ := newClient(b, env.rest(b), 2)
	body := map[string]string{"accountName": "0000000000-00001"}
	b.ReportAllocs()
	for b.Loop() {
		var out map[string]any
		if err := c.Call(b.Context(), cred(testPassword), http.MethodPost, deviceList, body, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBareHTTPCall(b *testing.B) {
	env := newSimEnv(b)
	bearer := bareToken(b, env)
	var login struct {
		SessionToken string `json:"sessionToken"`
	}
	bareDo(b, env, http.MethodPost, "/api/m2m/v1/session/login", bearer, "",
		map[string]string{"username": testUser, "password": testPassword}, &login)
	body := map[string]string{"accountName": "0000000000-00001"}
	b.ReportAllocs()
	for b.Loop() {
		var out map[string]any
		bareDo(b, env, http.MethodPost, deviceList, bearer, login.SessionToken, body, &out)
	}
}

func bareToken(b *testing.B, env *simEnv) string {
	req, err := http.NewRequest(http.MethodPost, env.srv.URL+"/api/ts/v1/oauth2/token", bytes.NewReader([]byte("grant_type=client_credentials")))
	if err != nil {
		b.Fatal(err)
	}
	req.SetBasicAuth(testAppKey, testSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := env.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		b.Fatal(err)
	}
	return out.AccessToken
}

func bareDo(b *testing.B, env *simEnv, method, path, bearer, session string, in, out any) {
	var body io.Reader
	if in != nil {
		p, err := json.Marshal(in)
		if err != nil {
			b.Fatal(err)
		}
		body = bytes.NewReader(p)
	}
	req, err := http.NewRequestWithContext(b.Context(), method, env.srv.URL+path, body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if session != "" {
		req.Header.Set("VZ-M2M-Token", session)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "uwsportal/test")
	resp, err := env.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d", path, resp.StatusCode)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			b.Fatal(err)
		}
	}
}
