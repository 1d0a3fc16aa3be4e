package app

import (
	"crypto/sha256"
	"maps"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionCodec writes web sessions with scs's gob codec, the format every
// release reads (so instances of two releases can serve one person during
// a rolling upgrade, and a rollback signs nobody out), and remembers what
// it decoded. Every signed-in page decodes its session, and gob builds its
// decoders anew for each one (20 to 36 µs and 212 allocations for a
// signed-in session); a session is rewritten at most once a minute, so
// most pages decode bytes decoded before. Remembered, by the SHA-256 of
// their bytes so that different bytes never share an entry, are only
// sessions of strings and int64s (nearly every one: the person, the
// clocks, the CSRF token, the sealed IdP tokens), whose values nobody can
// change in place; each decode gets a map of its own.
type sessionCodec struct{ seen *decodedSessions }

func newSessionCodec() sessionCodec {
	return sessionCodec{seen: &decodedSessions{m: make(map[[sha256.Size]byte]decodedSession)}}
}

// maxDecodedSessions bounds what is remembered: sessions of 3 KB (with
// sealed IdP tokens) hold about 6 MB.
const maxDecodedSessions = 2048

type decodedSessions struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]decodedSession
}

type decodedSession struct {
	deadline time.Time
	values   map[string]any
}

func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	return scs.GobCodec{}.Encode(deadline, values)
}

func (c sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	key := sha256.Sum256(b)
	c.seen.mu.RLock()
	d, ok := c.seen.m[key]
	c.seen.mu.RUnlock()
	if ok {
		return d.deadline, maps.Clone(d.values), nil
	}
	deadline, values, err := scs.GobCodec{}.Decode(b)
	if err != nil || !immutable(values) {
		return deadline, values, err
	}
	c.seen.mu.Lock()
	if len(c.seen.m) >= maxDecodedSessions {
		for k := range c.seen.m { // any one: the map's order is random
			delete(c.seen.m, k)
			break
		}
	}
	c.seen.m[key] = decodedSession{deadline, maps.Clone(values)}
	c.seen.mu.Unlock()
	return deadline, values, nil
}

// immutable says whether every value is a string or an int64.
func immutable(values map[string]any) bool {
	for _, v := range values {
		switch v.(type) {
		case string, int64:
		default:
			return false
		}
	}
	return true
}
