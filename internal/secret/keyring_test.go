package secret

import (
	"bytes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustKeyring(t testing.TB, keys ...[]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSeal(t testing.TB, k *Keyring, plaintext, aad []byte) (keyID string, ciphertext []byte) {
	t.Helper()
	keyID, ciphertext, err := k.Seal(plaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	return keyID, ciphertext
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKeyring(t, testKey(1))
	for _, pt := range []string{"", "p", "Sup3r$ecret-Passw0rd", strings.Repeat("x", 10000), "pässwörd✓"} {
		id, ct, err := k.Seal([]byte(pt), AAD("credential", 7))
		if err != nil {
			t.Fatal(err)
		}
		if id != k.CurrentID() {
			t.Errorf("Seal key ID = %s, want current %s", id, k.CurrentID())
		}
		if want := 12 + len(pt) + 16; len(ct) != want {
			t.Errorf("ciphertext length = %d, want nonce+plaintext+tag = %d", len(ct), want)
		}
		// A one-byte plaintext turns up in random bytes by chance (about one
		// run in nine); from eight bytes on, a match means no encryption.
		if len(pt) >= 8 && bytes.Contains(ct, []byte(pt)) {
			t.Error("ciphertext contains the plaintext")
		}
		got, err := k.Open(id, ct, AAD("credential", 7))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != pt {
			t.Errorf("Open = %q, want %q", got, pt)
		}
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	k := mustKeyring(t, testKey(1))
	_, a := mustSeal(t, k, []byte("same"), nil)
	_, b := mustSeal(t, k, []byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: nonce reused")
	}
}

func TestOpenWrongAAD(t *testing.T) {
	k := mustKeyring(t, testKey(1))
	const pt = "hunter2-Secret!"
	id, ct := mustSeal(t, k, []byte(pt), AAD("credential", 1))
	for _, aad := range [][]byte{AAD("credential", 2), AAD("token", 1), nil, []byte("credential:1 ")} {
		_, err := k.Open(id, ct, aad)
		if !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open with aad %q: err = %v, want ErrDecrypt", aad, err)
			continue
		}
		if strings.Contains(err.Error(), pt) {
			t.Errorf("error %q contains the plaintext", err)
		}
	}
}

func TestOpenTampered(t *testing.T) {
	k := mustKeyring(t, testKey(1))
	aad := AAD("credential", 1)
	id, ct := mustSeal(t, k, []byte("secret value"), aad)
	// Flip one bit in every position: nonce, body and tag are all covered.
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := k.Open(id, bad, aad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("bit flip at %d: err = %v, want ErrDecrypt", i, err)
		}
	}
	for _, bad := range [][]byte{nil, ct[:11], ct[:12], ct[:len(ct)-1], append(bytes.Clone(ct), 0)} {
		if _, err := k.Open(id, bad, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("length %d: err = %v, want ErrDecrypt", len(bad), err)
		}
	}
}

func TestOpenUnknownKey(t *testing.T) {
	old := mustKeyring(t, testKey(1))
	id, ct := mustSeal(t, old, []byte("x"), nil)
	k := mustKeyring(t, testKey(2))
	_, err := k.Open(id, ct, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), k.CurrentID()) {
		t.Errorf("error %q should name the missing ID %s and the IDs held", err, id)
	}
	if k.Has(id) {
		t.Error("Has(unknown) = true")
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := testKey(1), testKey(2)
	before := mustKeyring(t, oldKey)
	oldID, oldCT := mustSeal(t, before, []byte("old secret"), AAD("credential", 1))

	after := mustKeyring(t, newKey, oldKey)
	if after.CurrentID() != KeyID(newKey) {
		t.Fatalf("current = %s, want the first key %s", after.CurrentID(), KeyID(newKey))
	}
	if !after.Has(oldID) || !after.NeedsRekey(oldID) {
		t.Errorf("old key: Has=%v NeedsRekey=%v, want true, true", after.Has(oldID), after.NeedsRekey(oldID))
	}
	got, err := after.Open(oldID, oldCT, AAD("credential", 1))
	if err != nil || string(got) != "old secret" {
		t.Fatalf("old key Open = %q, %v", got, err)
	}
	newID, newCT := mustSeal(t, after, got, AAD("credential", 1))
	if newID != KeyID(newKey) || after.NeedsRekey(newID) {
		t.Errorf("re-seal used %s (NeedsRekey %v), want %s", newID, after.NeedsRekey(newID), KeyID(newKey))
	}
	if _, err := before.Open(newID, newCT, AAD("credential", 1)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old keyring opening new ciphertext: err = %v, want ErrUnknownKey", err)
	}
	if ids := after.IDs(); len(ids) != 2 || ids[0] != newID || ids[1] != oldID {
		t.Errorf("IDs = %v", ids)
	}
}

func TestOpenSameIDOtherKey(t *testing.T) {
	// A different key that happened to carry the same ID (a 32-bit
	// collision) must fail authentication, never return garbage.
	a := mustKeyring(t, testKey(1))
	id, ct := mustSeal(t, a, []byte("x"), nil)
	b := mustKeyring(t, testKey(2))
	b.aeads = map[string]cipher.AEAD{id: b.aeads[b.current]}
	b.current, b.order = id, []string{id}
	if _, err := b.Open(id, ct, nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("err = %v, want ErrDecrypt", err)
	}
}

func TestParseKeysFormats(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(0xfb + i) // yields both + and / (or - and _) in base64
	}
	want := KeyID(raw)
	for name, s := range map[string]string{
		"std":          base64.StdEncoding.EncodeToString(raw),
		"std raw":      base64.RawStdEncoding.EncodeToString(raw),
		"url":          base64.URLEncoding.EncodeToString(raw),
		"url raw":      base64.RawURLEncoding.EncodeToString(raw),
		"spaces":       "  " + base64.StdEncoding.EncodeToString(raw) + " \r\n",
		"trailing sep": base64.StdEncoding.EncodeToString(raw) + ",\n",
	} {
		k, err := ParseKeys(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if k.CurrentID() != want {
			t.Errorf("%s: ID %s, want %s", name, k.CurrentID(), want)
		}
	}
}

func TestParseKeysSeveral(t *testing.T) {
	a, b, c := testKey(1), testKey(2), testKey(3)
	enc := base64.StdEncoding.EncodeToString
	for _, spec := range []string{
		enc(a) + "," + enc(b) + "," + enc(c),
		enc(a) + "\n" + enc(b) + "\n" + enc(c) + "\n",
		enc(a) + ", " + enc(b) + "\r\n\n" + enc(c),
	} {
		k, err := ParseKeys(spec)
		if err != nil {
			t.Fatal(err)
		}
		ids := k.IDs()
		if len(ids) != 3 || ids[0] != KeyID(a) || ids[1] != KeyID(b) || ids[2] != KeyID(c) {
			t.Errorf("IDs = %v", ids)
		}
	}
}

func TestParseKeysErrors(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(testKey(9))
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"empty", "", "no keys"},
		{"blank", " \n , \n", "no keys"},
		{"wrong length", short, "key 1 of 1: decodes to 16 bytes, want 32"},
		{"too long", base64.StdEncoding.EncodeToString(make([]byte, 48)), "decodes to 48 bytes"},
		{"bad base64", "not*base64!" + good[11:], "key 1 of 1: not valid base64"},
		{"mixed alphabets", "ab+_" + good[4:], "not valid base64"},
		{"second bad", good + ",AAAA", "key 2 of 2: decodes to 3 bytes"},
		{"duplicate", good + "\n" + good, "key 2 of 2 has the same ID"},
	} {
		_, err := ParseKeys(tc.spec)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
		}
		for _, part := range strings.FieldsFunc(tc.spec, func(r rune) bool { return r == ',' || r == '\n' }) {
			if part = strings.TrimSpace(part); len(part) >= 4 && strings.Contains(err.Error(), part) {
				t.Errorf("%s: error %q echoes the input %q", tc.name, err, part)
			}
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if a == b {
		t.Fatal("GenerateKey returned the same key twice")
	}
	k, err := ParseKeys(a + "," + b)
	if err != nil {
		t.Fatalf("generated keys do not parse: %v", err)
	}
	if k.CurrentID() != KeyID(mustDecode(t, a)) {
		t.Error("first generated key is not current")
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAAD(t *testing.T) {
	if got := string(AAD("credential", 42)); got != "credential:42" {
		t.Errorf("AAD = %q", got)
	}
	if got := string(AAD("x", -1)); got != "x:-1" {
		t.Errorf("AAD = %q", got)
	}
}

func BenchmarkSeal(b *testing.B) {
	k := mustKeyring(b, testKey(1))
	pt, aad := []byte("a-typical-UWS-password!42"), AAD("credential", 123)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := k.Seal(pt, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := mustKeyring(b, testKey(1), testKey(2))
	aad := AAD("credential", 123)
	id, ct := mustSeal(b, k, []byte("a-typical-UWS-password!42"), aad)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(id, ct, aad); err != nil {
			b.Fatal(err)
		}
	}
}
