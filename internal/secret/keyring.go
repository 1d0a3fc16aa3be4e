// Package secret encrypts credentials at rest (envelope style: each row
// stores the ID of the key that sealed it next to the ciphertext) and gives
// secret values a type that cannot leak through logs, fmt or JSON.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KeySize is the length of a master key: AES-256.
const KeySize = 32

// Environment variables that hold the master keys (read by config.MasterKeys).
const (
	EnvMasterKey     = "UWSPORTAL_MASTER_KEY"
	EnvMasterKeyFile = "UWSPORTAL_MASTER_KEY_FILE"
)

var (
	// ErrDecrypt means the ciphertext did not authenticate: it was tampered
	// with, truncated, sealed under other associated data (copied from
	// another row) or sealed by a different key carrying the same ID. The
	// message deliberately says no more, so it cannot leak anything.
	ErrDecrypt = errors.New("secret: decryption failed (wrong key, wrong row or tampered ciphertext)")

	// ErrUnknownKey means the row names a key ID the keyring does not hold,
	// typically because an old key was dropped before every row was
	// re-encrypted.
	ErrUnknownKey = errors.New("secret: unknown key ID")
)

// Keyring holds the master keys. The current key seals; every key opens, so
// keys can be rotated by prepending a new one and re-encrypting at leisure.
// A Keyring is immutable after construction and safe for concurrent use.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	order   []string // key IDs as configured, current first
	raw     [][]byte // the keys, in order, for Derive
}

// KeyID derives the identifier stored beside each ciphertext. Deriving it
// from the key means configuration never has to name keys, and a key cannot
// be paired with the wrong ID. 32 bits is plenty to tell a handful of keys
// apart; it is not a security boundary (GCM authentication is).
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// NewKeyring builds a keyring from raw keys; keys[0] is current.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no keys given")
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret: key %d of %d is %d bytes, want %d", i+1, len(keys), len(key), KeySize)
		}
		id := KeyID(key)
		if _, dup := k.aeads[id]; dup {
			// Either the same key twice (a copy-paste slip worth reporting)
			// or a 32-bit ID collision, which would make Open ambiguous.
			return nil, fmt.Errorf("secret: key %d of %d has the same ID %s as an earlier key (listed twice?)", i+1, len(keys), id)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		// The random-nonce GCM prepends a fresh 12-byte nonce on Seal and
		// reads it back on Open, so nonce handling cannot be got wrong here.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		k.aeads[id] = aead
		k.order = append(k.order, id)
		k.raw = append(k.raw, key)
	}
	k.current = k.order[0]
	return k, nil
}

// ParseKeys parses a comma- or newline-separated list of base64 keys (std or
// URL alphabet, padded or not); the first is current. Blank entries are
// skipped so a trailing newline or comma is harmless. Errors say which entry
// is wrong and how, never what it contains.
func ParseKeys(spec string) (*Keyring, error) {
	fields := strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' })
	var entries []string
	for _, f := range fields {
		if f = strings.TrimSpace(f); f != "" {
			entries = append(entries, f)
		}
	}
	if len(entries) == 0 {
		return nil, errors.New("secret: no keys: expected one or more base64-encoded 32-byte keys separated by commas or newlines")
	}
	keys := make([][]byte, len(entries))
	for i, e := range entries {
		key, err := decodeKey(e)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d of %d: %w", i+1, len(entries), err)
		}
		keys[i] = key
	}
	return NewKeyring(keys...)
}

// decodeKey accepts all four base64 flavours, because keys come from
// different tools (openssl, Go, shell) and padding is often stripped.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil {
		// Drop the decoder's error: it is safe today, but a position is all
		// we need and the error text must never grow to quote the input.
		var pos base64.CorruptInputError
		if errors.As(err, &pos) {
			return nil, fmt.Errorf("not valid base64 (bad character or length at position %d)", int64(pos))
		}
		return nil, errors.New("not valid base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(key), KeySize)
	}
	return key, nil
}

// GenerateKey returns a new random key in std base64, for docs and demos.
func GenerateKey() string {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails since Go 1.24; it crashes the program instead
	return base64.StdEncoding.EncodeToString(key)
}

// AAD returns associated data binding a ciphertext to one row, such as
// AAD("credential", 42). Open with any other kind or ID fails, so a
// ciphertext copied into another row is useless there.
func AAD(kind string, id int64) []byte {
	return []byte(kind + ":" + strconv.FormatInt(id, 10))
}

// Export gives the keys in base64, comma separated, current first: the
// format UWSPORTAL_MASTER_KEY takes (rekey --to-plain writes it to a
// private file; never log or print it).
func (k *Keyring) Export() string {
	out := make([]string, len(k.raw))
	for i, raw := range k.raw {
		out[i] = base64.StdEncoding.EncodeToString(raw)
	}
	return strings.Join(out, ",")
}

// CurrentID is the ID of the key Seal uses.
func (k *Keyring) CurrentID() string { return k.current }

// IDs lists the key IDs, current first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.order...) }

// Has reports whether the keyring can open ciphertexts sealed with keyID.
func (k *Keyring) Has(keyID string) bool {
	_, ok := k.aeads[keyID]
	return ok
}

// NeedsRekey reports whether a row sealed with keyID should be re-encrypted
// under the current key (the rekey command's filter).
func (k *Keyring) NeedsRekey(keyID string) bool { return keyID != k.current }

// Seal encrypts plaintext under the current key. The ciphertext is
// nonce || sealed data || tag; store keyID beside it.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, ciphertext []byte, err error) {
	if k == nil || k.current == "" {
		return "", nil, errors.New("secret: seal with an empty keyring")
	}
	return k.current, k.aeads[k.current].Seal(nil, nil, plaintext, aad), nil
}

// Open decrypts a ciphertext made by Seal with the same aad.
func (k *Keyring) Open(keyID string, ciphertext, aad []byte) ([]byte, error) {
	if k == nil {
		return nil, errors.New("secret: open with an empty keyring")
	}
	aead, ok := k.aeads[keyID]
	if !ok {
		// The ID comes from our own database column and is not secret;
		// naming it tells the operator which old key to put back.
		return nil, fmt.Errorf("%w %q: the keyring holds %s", ErrUnknownKey, keyID, strings.Join(k.order, ", "))
	}
	pt, err := aead.Open(nil, nil, ciphertext, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Derive returns a keyring for one purpose only ("oidc-state",
// "session-tokens", ...): each key is HKDF-SHA256 of the matching master
// key with the purpose as info, so a ciphertext made for one purpose can
// never be opened as another's, and no derived key reveals the master.
// Ciphertexts sealed directly under the master keys (the credentials, which
// predate derivation) keep opening with the master keyring.
func (k *Keyring) Derive(purpose string) (*Keyring, error) {
	if k == nil || len(k.raw) == 0 {
		return nil, errors.New("secret: derive from an empty keyring")
	}
	if purpose == "" {
		return nil, errors.New("secret: derive needs a purpose")
	}
	keys := make([][]byte, len(k.raw))
	for i, master := range k.raw {
		d, err := hkdf.Key(sha256.New, master, nil, "uwsportal/v1/"+purpose, KeySize)
		if err != nil {
			return nil, fmt.Errorf("secret: derive %s: %w", purpose, err)
		}
		keys[i] = d
	}
	return NewKeyring(keys...)
}
