package thingspace

import (
	"strings"
	"testing"
)

// readAnswer reads through a lent buffer that the next answer reuses (and
// that is zeroed when given back): what it returns must be the answer's
// own copy, whole, and unchanged by the answers read after it.
func TestReadAnswerKeepsItsOwnCopy(t *testing.T) {
	first, err := readAnswer(strings.NewReader(`{"devices":[{"deviceIds":[{"kind":"mdn","id":"5550000001"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := string(first)
	for range 3 { // the pool may lend the same buffer again
		if _, err := readAnswer(strings.NewReader(strings.Repeat("x", 4096))); err != nil {
			t.Fatal(err)
		}
	}
	if string(first) != want || !strings.HasPrefix(want, `{"devices"`) {
		t.Fatalf("the first answer changed after later reads: %q", first)
	}
	empty, err := readAnswer(strings.NewReader(""))
	if err != nil || len(empty) != 0 {
		t.Fatalf("an empty answer read as %q, %v", empty, err)
	}
}
