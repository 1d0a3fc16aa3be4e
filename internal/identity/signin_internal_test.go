package identity

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The dummy hash that unknown names are checked against costs what a real
// break-glass hash costs (issue 16.2), whatever the timing on this machine.
func TestDummyHashHasTheRealCost(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash())
	if err != nil {
		t.Fatal(err)
	}
	if cost != localBcryptCost {
		t.Fatalf("dummy hash cost %d, real hashes %d", cost, localBcryptCost)
	}
}
