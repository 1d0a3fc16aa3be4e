package secret

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const plain = "Top$ecret-Pa55"

func TestSecretReveal(t *testing.T) {
	if got := Secret(plain).Reveal(); got != plain {
		t.Fatalf("Reveal = %q", got)
	}
}

func TestSecretStringers(t *testing.T) {
	s := Secret(plain)
	if got := s.String(); got != Redacted {
		t.Errorf("String = %q", got)
	}
	if got := s.GoString(); got != Redacted {
		t.Errorf("GoString = %q", got)
	}
	if got := s.LogValue(); got.Kind() != slog.KindString || got.String() != Redacted {
		t.Errorf("LogValue = %v", got)
	}
	if got, err := s.MarshalText(); err != nil || string(got) != Redacted {
		t.Errorf("MarshalText = %q, %v", got, err)
	}
	if got, err := s.MarshalJSON(); err != nil || string(got) != `"[redacted]"` {
		t.Errorf("MarshalJSON = %q, %v", got, err)
	}
}

func TestSecretFormat(t *testing.T) {
	s := Secret(plain)
	type Exported struct {
		User     string
		Password Secret
	}
	for _, tc := range []struct {
		format string
		arg    any
		want   string
	}{
		{"%s", s, Redacted},
		{"%v", s, Redacted},
		{"%+v", s, Redacted},
		{"%#v", s, Redacted},
		{"%q", s, Redacted},
		{"%x", s, Redacted},
		{"%X", s, Redacted},
		{"%d", s, Redacted},
		{"%20s", s, Redacted},
		{"%v", &s, Redacted},
		{"%v", []Secret{s}, "[" + Redacted + "]"},
		{"%v", map[string]Secret{"k": s}, "map[k:" + Redacted + "]"},
		{"%+v", Exported{"bob", s}, "{User:bob Password:" + Redacted + "}"},
		{"%#v", Exported{"bob", s}, `secret.Exported{User:"bob", Password:` + Redacted + "}"},
	} {
		got := fmt.Sprintf(tc.format, tc.arg)
		if got != tc.want {
			t.Errorf("Sprintf(%q) = %q, want %q", tc.format, got, tc.want)
		}
		if strings.Contains(got, plain) {
			t.Errorf("Sprintf(%q) leaks the secret", tc.format)
		}
	}
	// Through error wrapping, as in fmt.Errorf("login %s: %w", pw, err).
	err := fmt.Errorf("login with %v: %w", s, errors.New("denied"))
	if strings.Contains(err.Error(), plain) {
		t.Errorf("wrapped error leaks: %q", err)
	}
}

func TestSecretSlog(t *testing.T) {
	s := Secret(plain)
	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(newHandler(&buf))
		log.Info("login", "password", s, slog.Any("token", s), slog.Group("cred", "pw", s))
		out := buf.String()
		if strings.Contains(out, plain) {
			t.Errorf("%s handler leaks: %s", name, out)
		}
		if strings.Count(out, Redacted) != 3 {
			t.Errorf("%s handler: want 3 redactions in %s", name, out)
		}
	}
}

func TestSecretJSONAndText(t *testing.T) {
	type row struct {
		Password Secret  `json:"password" xml:"password"`
		Ptr      *Secret `json:"ptr"`
		List     []Secret
	}
	s := Secret(plain)
	b, err := json.Marshal(row{Password: s, Ptr: &s, List: []Secret{s}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"password":"[redacted]","ptr":"[redacted]","List":["[redacted]"]}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	x, err := xml.Marshal(row{Password: s})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(x), plain) || !strings.Contains(string(x), Redacted) {
		t.Errorf("xml = %s", x)
	}
}

// TestSecretKnownHoles pins the two documented leaks, so a change in Go that
// closes (or widens) them is noticed and the doc comment updated.
func TestSecretKnownHoles(t *testing.T) {
	type unexported struct{ pw Secret }
	if got := fmt.Sprintf("%v", unexported{Secret(plain)}); got != "{"+plain+"}" {
		t.Errorf("unexported field: %q", got)
	}
	b, err := json.Marshal(map[Secret]int{Secret(plain): 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), plain) {
		t.Errorf("map key: %s", b)
	}
}
