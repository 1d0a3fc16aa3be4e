package thingspace

import (
	"encoding/json"
	"testing"
)

func FuzzExtractNewPassword(f *testing.F) {
	f.Add([]byte(`{"newPassword":"N3w!Pw"}`), []byte("garbage"))
	f.Add([]byte(`{"a":[1,{"b":null}],"NewPassword":"x\u00e9y","newPassword":null}`), []byte(`{"newPassword":"z"}`))
	f.Add([]byte(`{"newPassword":"a","newPassword":""}`), []byte(""))
	f.Add([]byte(`{"newPassword":12}`), []byte("]"))
	f.Fuzz(func(t *testing.T, data, tail []byte) {
		pw, ok := extractNewPassword(data)
		if ok != (pw != "") {
			t.Fatalf("ok %v with password %q", ok, pw)
		}
		if !json.Valid(data) || !isASCII(data) {
			return
		}
		// On a well-formed body it agrees with encoding/json, and nothing
		// after the body changes the answer.
		var want struct{ NewPassword string }
		if json.Unmarshal(data, &want) == nil && want.NewPassword != pw {
			t.Fatalf("extracted %q, encoding/json %q", pw, want.NewPassword)
		}
		if got, _ := extractNewPassword(append(data[:len(data):len(data)], tail...)); got != pw {
			t.Fatalf("trailing %q changed the password from %q to %q", tail, pw, got)
		}
	})
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
