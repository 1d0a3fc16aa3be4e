package secret

import (
	"bytes"
	"errors"
	"testing"
)

// A ciphertext sealed for one purpose opens only for that purpose, never
// with the master keys nor another purpose's keys; rotation still works.
func TestDerivedKeyringsKeepPurposesApart(t *testing.T) {
	master, err := ParseKeys(GenerateKey() + "," + GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	state, err := master.Derive("oidc-state")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := master.Derive("session-tokens")
	if err != nil {
		t.Fatal(err)
	}
	id, ct, err := state.Seal([]byte("hello"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := state.Open(id, ct, []byte("aad")); err != nil || !bytes.Equal(pt, []byte("hello")) {
		t.Fatalf("own purpose: %q %v", pt, err)
	}
	for name, other := range map[string]*Keyring{"master": master, "another purpose": tokens} {
		if _, err := other.Open(id, ct, []byte("aad")); err == nil {
			t.Errorf("the %s keyring opened a ciphertext sealed for oidc-state", name)
		} else if !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrDecrypt) {
			t.Errorf("the %s keyring: %v", name, err)
		}
	}
	if id == master.CurrentID() || state.CurrentID() == tokens.CurrentID() {
		t.Error("derived key IDs collide with the master's or each other's")
	}
	again, err := master.Derive("oidc-state")
	if err != nil {
		t.Fatal(err)
	}
	if again.CurrentID() != state.CurrentID() || len(again.IDs()) != 2 {
		t.Error("derivation is not stable or lost the older key")
	}
	if _, err := master.Derive(""); err == nil {
		t.Error("an empty purpose was accepted")
	}
}
