package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"
)

// authState is what the pre-sign-in cookie carries between /auth/login and
// /auth/callback, sealed with the master key so any instance can read it.
type authState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

const authCookie = "uwsportal_auth"

// authStateTTL bounds how long a sign-in may take at the IdP.
const authStateTTL = 10 * time.Minute

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func marshalState(st authState) []byte {
	b, _ := json.Marshal(st)
	return b
}
