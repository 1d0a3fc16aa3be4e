package secret

import (
	"fmt"
)

// checkPlaintext is what a key-check value seals: a constant, so opening it
// proves the key is the one that made it.
var checkPlaintext = []byte("uwsportal master key check v1")

func checkAAD(keyID string) []byte { return []byte("key-check:" + keyID) }

// CheckValue seals the key-check constant under the key keyID.
func (k *Keyring) CheckValue(keyID string) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	return aead.Seal(nil, nil, checkPlaintext, checkAAD(keyID)), nil
}

// VerifyCheck reports whether the keyring's key keyID opens check.
func (k *Keyring) VerifyCheck(keyID string, check []byte) error {
	pt, err := k.Open(keyID, check, checkAAD(keyID))
	if err != nil {
		return err
	}
	if string(pt) != string(checkPlaintext) {
		return ErrDecrypt
	}
	return nil
}
