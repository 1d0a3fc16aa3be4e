package secret

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"gocloud.dev/gcerrors"
)

// fakeTransit is Vault's Transit engine for one key: "encryption" is
// base64 with a prefix, which is all the keeper may rely on.
func fakeTransit(t *testing.T, token string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vault-Token") != token {
			w.WriteHeader(http.StatusForbidden)
			if _, err := w.Write([]byte(`{"errors":["permission denied"]}`)); err != nil {
				t.Error(err)
			}
			return
		}
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Error(err)
		}
		var data map[string]string
		switch r.URL.Path {
		case "/v1/transit/encrypt/uwsportal":
			data = map[string]string{"ciphertext": "vault:v1:" + in["plaintext"]}
		case "/v1/transit/decrypt/uwsportal":
			data = map[string]string{"plaintext": strings.TrimPrefix(in["ciphertext"], "vault:v1:")}
		default:
			w.WriteHeader(http.StatusNotFound)
			if _, err := w.Write([]byte(`{"errors":[]}`)); err != nil {
				t.Error(err)
			}
			return
		}
		if err := json.NewEncoder(w).Encode(map[string]any{"data": data}); err != nil {
			t.Error(err)
		}
	}))
}

func TestVaultTransitWrapsTheKeys(t *testing.T) {
	srv := fakeTransit(t, "s.vault-token-1")
	defer srv.Close()
	env := map[string]string{"VAULT_ADDR": srv.URL, "VAULT_TOKEN": "s.vault-token-1"}
	open := func(raw string) (*KMS, error) {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		k, err := vaultOpener{getenv: func(k string) string { return env[k] }, readFile: ReadKeyFile}.OpenKeeperURL(context.Background(), u)
		if err != nil {
			return nil, err
		}
		return &KMS{URL: raw, keeper: k}, nil
	}
	kms, err := open("hashivault://uwsportal")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := ParseKeys(GenerateKey() + "," + GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wrapped, err := kms.Wrap(ctx, kr)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := base64.StdEncoding.DecodeString(wrapped[0])
	if err != nil || !strings.HasPrefix(string(ct), "vault:v1:") {
		t.Fatalf("not Transit's ciphertext: %q %v", ct, err)
	}
	back, err := kms.Unwrap(ctx, wrapped)
	if err != nil || strings.Join(back.IDs(), ",") != strings.Join(kr.IDs(), ",") {
		t.Fatalf("unwrap: %v %v", back, err)
	}
	env["VAULT_TOKEN"] = "s.wrong-token"
	bad, err := open("hashivault://uwsportal")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Unwrap(ctx, wrapped)
	if gcerrors.Code(err) != gcerrors.PermissionDenied || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "token") {
		t.Fatalf("a wrong token: %v (%v)", err, gcerrors.Code(err))
	}
	delete(env, "VAULT_ADDR")
	if _, err := open("hashivault://uwsportal"); err == nil || !strings.Contains(err.Error(), "VAULT_ADDR") {
		t.Fatalf("no address: %v", err)
	}
	if _, err := open("hashivault://"); err == nil {
		t.Fatal("a URL without a key was accepted")
	}
}

func TestCheckKMSURL(t *testing.T) {
	for raw, ok := range map[string]bool{"awskms://alias/uwsportal?region=eu-west-1": true, "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k": true,
		"azurekeyvault://vault.vault.azure.net/keys/uwsportal": true, "hashivault://uwsportal": true, "base64key://AAAA": false, "": false, "alias/x": false} {
		if err := CheckKMSURL(raw); (err == nil) != ok {
			t.Errorf("%q: %v", raw, err)
		}
	}
}
