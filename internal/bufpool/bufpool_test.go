package bufpool

import (
	"bytes"
	"testing"
)

// A buffer given back is empty and its old bytes are zeroed, so a borrower
// that reads past Len (through Bytes()[:cap]) never sees the last answer.
func TestPutZeroesWhatTheBufferHeld(t *testing.T) {
	b := Get()
	b.WriteString(`{"newPassword":"Secret-Pa55word!"}`)
	held := b.Bytes()
	Put(b)
	if b.Len() != 0 {
		t.Fatalf("a returned buffer holds %d bytes", b.Len())
	}
	if !bytes.Equal(held, make([]byte, len(held))) {
		t.Fatalf("a returned buffer still holds %q", held)
	}
}

// A buffer that grew beyond maxKept is not kept: one huge answer must not
// pin a megabyte per pooled buffer for the process's life.
func TestPutDropsHugeBuffers(t *testing.T) {
	b := new(bytes.Buffer)
	b.Grow(maxKept + 1)
	Put(b)
	for range 100 {
		if got := Get(); got == b {
			t.Fatal("a buffer larger than maxKept came back from the pool")
		}
	}
}
