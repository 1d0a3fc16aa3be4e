package thingspace

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
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

// Whatever follows a whole NewPassword element in a 2xx, the password
// survives.
func FuzzSOAPNewPasswordSurvivesTail(f *testing.F) {
	f.Add("N3w!Pw<&>", []byte("</Output></Wrong>"))
	f.Add("x", []byte("<a:Other>unterminated"))
	f.Add("p", []byte("\x00garbage</s:Envelope></s:Envelope>"))
	f.Fuzz(func(t *testing.T, pw string, tail []byte) {
		esc := xmlText(pw)
		if strings.TrimSpace(pw) != pw || pw == "" || !utf8.ValidString(pw) || strings.ContainsFunc(pw, isXMLInvalid) {
			return // not a password XML can carry as is
		}
		body := `<s:Envelope xmlns:s="x"><s:Body><GetNewPasswordResponse><Output><a:NewPassword xmlns:a="c">` + esc + `</a:NewPassword>`
		fields, _ := parseSOAP(opReset, 200, append([]byte(body), tail...), nil)
		if got := fields["NewPassword"]; got != pw {
			t.Fatalf("password %q came back as %q", pw, got)
		}
	})
}

func isXMLInvalid(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' || r == 0xFFFE || r == 0xFFFF || r == utf8.RuneError
}
