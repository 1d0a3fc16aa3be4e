package app

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionCodec encodes a web session that holds only strings and int64s,
// which is nearly every session (the person, the CSRF token, the clocks,
// the sealed IdP tokens), in a plain length-prefixed form, and any other
// (a flash message, an approval's question) with scs's gob. Every
// signed-in page decodes its session: gob builds its decoders anew for
// each one (about 22 µs and 220 allocations for a signed-in session),
// this form costs a few allocations. Sessions written by gob, before this
// codec or now, still decode.
type sessionCodec struct{}

// plainSession starts a session in the plain form. A gob stream starts
// with its first message's length, never 0.
var plainSession = []byte("\x00uws1")

// Value kinds of the plain form.
const (
	plainString = 's'
	plainInt64  = 'i'
)

func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := append(make([]byte, 0, 64+16*len(values)), plainSession...)
	b = binary.AppendVarint(b, deadline.Unix())
	b = binary.AppendUvarint(b, uint64(deadline.Nanosecond()))
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = appendPlain(b, k)
		switch v := v.(type) {
		case string:
			b = appendPlain(append(b, plainString), v)
		case int64:
			b = binary.AppendVarint(append(b, plainInt64), v)
		default:
			return scs.GobCodec{}.Encode(deadline, values)
		}
	}
	return b, nil
}

func appendPlain(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func (sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	rest, ok := bytes.CutPrefix(b, plainSession)
	if !ok {
		return scs.GobCodec{}.Decode(b)
	}
	r := plainReader{b: rest}
	sec, nsec, n := r.varint(), r.uvarint(), r.uvarint()
	if r.err != nil || nsec >= uint64(time.Second) || n > uint64(len(r.b)) {
		return time.Time{}, nil, errBadSession
	}
	values := make(map[string]any, n)
	for range n {
		k := r.string()
		switch r.byte() {
		case plainString:
			values[k] = r.string()
		case plainInt64:
			values[k] = r.varint()
		default:
			return time.Time{}, nil, errBadSession
		}
	}
	if r.err != nil || len(r.b) != 0 {
		return time.Time{}, nil, errBadSession
	}
	return time.Unix(sec, int64(nsec)), values, nil
}

var errBadSession = errors.New("session data is not in the portal's form")

// plainReader reads the plain form; its first failure sticks in err.
type plainReader struct {
	b   []byte
	err error
}

func (r *plainReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *plainReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *plainReader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *plainReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *plainReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated", errBadSession)
	}
	r.b = nil
}
