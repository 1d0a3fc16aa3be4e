package app

import (
	"bytes"
	"encoding/gob"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

// flash stands for the session values that are neither strings nor int64s.
type flash struct{ Kind, Message string }

func init() { gob.Register([]flash{}) }

func signedIn() map[string]any {
	return map[string]any{"user": int64(42), "created": int64(1765000000), "seen": int64(-7),
		"csrf": "Zm9vYmFy", "subject": "", "idp_tokens": strings.Repeat("sealed", 200), "ünïcode": "é\x00\xff"}
}

func roundTrip(t *testing.T, values map[string]any) []byte {
	t.Helper()
	deadline := time.Date(2026, 12, 7, 22, 0, 0, 123456789, time.UTC)
	b, err := sessionCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	got, back, err := sessionCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(deadline) || !reflect.DeepEqual(back, values) {
		t.Fatalf("decoded %v %#v, want %v %#v", got, back, deadline, values)
	}
	return b
}

// A session of strings and int64s goes in the plain form and comes back
// as it went, each value of its own type.
func TestSessionCodecPlainRoundTrip(t *testing.T) {
	for _, values := range []map[string]any{signedIn(), {}} {
		if b := roundTrip(t, values); !bytes.HasPrefix(b, plainSession) {
			t.Fatalf("a session of strings and int64s was not written in the plain form: %q", b[:8])
		}
	}
}

// Any other value sends the whole session to gob, which keeps its types.
func TestSessionCodecFallsBackToGob(t *testing.T) {
	for _, odd := range []any{[]flash{{"ok", "Saved."}}, 7, true} {
		values := signedIn()
		values["odd"] = odd
		if b := roundTrip(t, values); bytes.HasPrefix(b, plainSession) {
			t.Fatalf("a session holding %T was written in the plain form", odd)
		}
	}
}

// Sessions written before this codec (scs's gob) still decode.
func TestSessionCodecReadsGobSessions(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	values := signedIn()
	b, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	got, back, err := sessionCodec{}.Decode(b)
	if err != nil || !got.Equal(deadline) || !maps.Equal(back, values) {
		t.Fatalf("gob session decoded as %v %v %v", got, back, err)
	}
}

// Every cut of a plain session, and every byte changed, is an error or a
// session, never a panic; the cuts are errors.
func TestSessionCodecRefusesDamage(t *testing.T) {
	b, err := sessionCodec{}.Encode(time.Now(), signedIn())
	if err != nil {
		t.Fatal(err)
	}
	for i := len(plainSession); i < len(b); i++ {
		if _, _, err := (sessionCodec{}).Decode(b[:i]); err == nil {
			t.Fatalf("a session cut at %d of %d bytes decoded", i, len(b))
		}
		c := bytes.Clone(b)
		c[i] ^= 0xff
		decodesStably(t, c)
	}
	if _, _, err := (sessionCodec{}).Decode(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("a session with a byte after its last value decoded")
	}
}

func FuzzSessionCodec(f *testing.F) {
	b, err := sessionCodec{}.Encode(time.Unix(1765000000, 5), signedIn())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(plainSession)
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.HasPrefix(b, plainSession) { // else gob's own
			decodesStably(t, b)
		}
	})
}

// decodesStably checks that what b decodes to, if anything, encodes and
// decodes again to the same session.
func decodesStably(t *testing.T, b []byte) {
	t.Helper()
	deadline, values, err := sessionCodec{}.Decode(b)
	if err != nil {
		return
	}
	again, err := sessionCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	d2, v2, err := sessionCodec{}.Decode(again)
	if err != nil || !d2.Equal(deadline) || !maps.Equal(v2, values) {
		t.Fatalf("%q decoded as %v %v, then again as %v %v %v", b, deadline, values, d2, v2, err)
	}
}

func BenchmarkSessionCodecDecode(b *testing.B) {
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"plain", sessionCodec{}}, {"gob", scs.GobCodec{}}} {
		b.Run(c.name, func(b *testing.B) {
			data, err := c.codec.Encode(time.Now(), signedIn())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
