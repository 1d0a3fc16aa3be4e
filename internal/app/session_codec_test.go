package app

import (
	"encoding/gob"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

// flash stands for the session values that are neither strings nor int64s.
type flash struct{ Kind, Message string }

func init() { gob.Register([]flash{}) }

func signedIn(user int64) map[string]any {
	return map[string]any{"user": user, "created": int64(1765000000), "seen": int64(-7),
		"csrf": "Zm9vYmFy", "subject": "", "idp_tokens": strings.Repeat("sealed", 200)}
}

func encode(t testing.TB, c sessionCodec, values map[string]any) []byte {
	t.Helper()
	b, err := c.Encode(time.Unix(1765003600, 5), values)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// What the codec writes, the previous release's codec (scs's gob) reads:
// instances of both serve one person during a rolling upgrade.
func TestSessionCodecWritesWhatThePreviousReleaseReads(t *testing.T) {
	c := newSessionCodec()
	values := signedIn(42)
	values["flash"] = []flash{{"ok", "Saved."}}
	deadline, back, err := scs.GobCodec{}.Decode(encode(t, c, values))
	if err != nil || !deadline.Equal(time.Unix(1765003600, 5)) || !reflect.DeepEqual(back, values) {
		t.Fatalf("gob read %v %v %v", deadline, back, err)
	}
}

// A session decoded again comes from memory, and each decode gets a map
// of its own: what one request puts in its session reaches no other.
func TestSessionCodecRemembersWhatItDecoded(t *testing.T) {
	c := newSessionCodec()
	b := encode(t, c, signedIn(42))
	_, first, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	first["csrf"] = "changed by the first request"
	delete(first, "user")
	deadline, again, err := c.Decode(b)
	if err != nil || !deadline.Equal(time.Unix(1765003600, 5)) || !maps.Equal(again, signedIn(42)) {
		t.Fatalf("decoded again as %v %v %v", deadline, again, err)
	}
	if len(c.seen.m) != 1 {
		t.Fatalf("%d sessions remembered, want 1", len(c.seen.m))
	}
	if allocs := testing.AllocsPerRun(100, func() { _, again, err = c.Decode(b) }); allocs > 5 {
		t.Fatalf("a remembered session cost %v allocations to decode; gob's costs about 200", allocs)
	}
}

// A session holding anything but strings and int64s (a flash message, an
// approval's question) is decoded by gob every time: its values could be
// changed in place.
func TestSessionCodecDoesNotRememberOtherValues(t *testing.T) {
	c := newSessionCodec()
	values := signedIn(42)
	values["flash"] = []flash{{"ok", "Saved."}}
	_, back, err := c.Decode(encode(t, c, values))
	if err != nil || !reflect.DeepEqual(back, values) {
		t.Fatalf("decoded %v %v", back, err)
	}
	if len(c.seen.m) != 0 {
		t.Fatal("a session holding a flash message was remembered")
	}
}

// Memory is bounded, and sessions decoded at once from many goroutines
// each come back whole (go test -race).
func TestSessionCodecIsBoundedAndSafeForConcurrentUse(t *testing.T) {
	c := newSessionCodec()
	const n = maxDecodedSessions + 100
	blobs := make([][]byte, n)
	for i := range blobs {
		blobs[i] = encode(t, c, signedIn(int64(i)))
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				_, v, err := c.Decode(blobs[i])
				if err != nil || v["user"] != int64(i) {
					t.Errorf("session %d decoded as user %v: %v", i, v["user"], err)
					return
				}
				v["seen"] = int64(w)
			}
		})
	}
	wg.Wait()
	if len(c.seen.m) > maxDecodedSessions {
		t.Fatalf("%d sessions remembered, at most %d", len(c.seen.m), maxDecodedSessions)
	}
}

// Bytes that are not a session are gob's error, and nothing is remembered.
func TestSessionCodecRefusesDamage(t *testing.T) {
	c := newSessionCodec()
	b := encode(t, c, signedIn(42))
	for _, bad := range [][]byte{b[:len(b)/2], []byte("not a session"), nil} {
		if _, _, err := c.Decode(bad); err == nil {
			t.Fatalf("%q… decoded", bad[:min(len(bad), 8)])
		}
	}
	if len(c.seen.m) != 0 {
		t.Fatal("damaged bytes were remembered")
	}
}

func BenchmarkSessionCodecDecode(b *testing.B) {
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"remembered", newSessionCodec()}, {"gob", scs.GobCodec{}}} {
		b.Run(c.name, func(b *testing.B) {
			data := encode(b, newSessionCodec(), signedIn(42))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
