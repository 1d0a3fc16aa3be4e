package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
)

// HashiCorp Vault's Transit engine as a gocloud.dev/secrets keeper
// (gocloud.dev dropped its own driver): hashivault://KEY?mount=transit
// wraps with the Transit key KEY at VAULT_ADDR, authenticated with
// VAULT_TOKEN (or VAULT_TOKEN_FILE), the variables Vault's own CLI reads.
// Two HTTP calls, so no Vault SDK.
// VaultVariables are the environment variables the Vault keeper reads.
var VaultVariables = []string{"VAULT_ADDR", "VAULT_TOKEN", "VAULT_TOKEN_FILE"}

func init() {
	secrets.DefaultURLMux().RegisterKeeper("hashivault", vaultOpener{getenv: os.Getenv, readFile: ReadKeyFile})
}

type vaultOpener struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
}

func (o vaultOpener) OpenKeeperURL(_ context.Context, u *url.URL) (*secrets.Keeper, error) {
	key := strings.Trim(u.Host+u.Path, "/")
	if key == "" {
		return nil, errors.New("hashivault: the URL names no Transit key (hashivault://KEY)")
	}
	addr := strings.TrimRight(o.getenv("VAULT_ADDR"), "/")
	if addr == "" {
		return nil, errors.New("hashivault: VAULT_ADDR is not set")
	}
	token := o.getenv("VAULT_TOKEN")
	if f := o.getenv("VAULT_TOKEN_FILE"); token == "" && f != "" {
		b, err := o.readFile(f)
		if err != nil {
			return nil, fmt.Errorf("hashivault: VAULT_TOKEN_FILE cannot be read: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("hashivault: VAULT_TOKEN (or VAULT_TOKEN_FILE) is not set")
	}
	mount := u.Query().Get("mount")
	if mount == "" {
		mount = "transit"
	}
	return secrets.NewKeeper(&vaultKeeper{base: addr + "/v1/" + mount, key: key, token: token,
		client: &http.Client{Timeout: 10 * time.Second}}), nil
}

type vaultKeeper struct {
	base, key, token string
	client           *http.Client
}

func (k *vaultKeeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	var out struct{ Ciphertext string }
	err := k.call(ctx, "encrypt", map[string]string{"plaintext": base64.StdEncoding.EncodeToString(plaintext)}, &out)
	return []byte(out.Ciphertext), err
}

func (k *vaultKeeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	var out struct{ Plaintext string }
	if err := k.call(ctx, "decrypt", map[string]string{"ciphertext": string(ciphertext)}, &out); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(out.Plaintext)
}

// call posts to Transit's encrypt or decrypt endpoint. Its error carries
// Vault's status and error list, never the token or the data.
func (k *vaultKeeper) call(ctx context.Context, op string, in map[string]string, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.base+"/"+op+"/"+url.PathEscape(k.key), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", k.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("hashivault %s: %w", op, err)
	}
	defer res.Body.Close()
	var env struct {
		Data   json.RawMessage
		Errors []string
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&env); err != nil || res.StatusCode != http.StatusOK {
		return &vaultError{op: op, status: res.StatusCode, errs: env.Errors}
	}
	return json.Unmarshal(env.Data, out)
}

type vaultError struct {
	op     string
	status int
	errs   []string
}

func (e *vaultError) Error() string {
	return fmt.Sprintf("hashivault %s: Vault answered %d %s", e.op, e.status, strings.Join(e.errs, "; "))
}

func (k *vaultKeeper) Close() error                  { return nil }
func (k *vaultKeeper) ErrorAs(err error, i any) bool { return errors.As(err, i) }
func (k *vaultKeeper) ErrorCode(err error) gcerrors.ErrorCode {
	var v *vaultError
	if errors.As(err, &v) {
		switch v.status {
		case http.StatusForbidden, http.StatusUnauthorized:
			return gcerrors.PermissionDenied
		case http.StatusBadRequest:
			return gcerrors.InvalidArgument
		case http.StatusNotFound:
			return gcerrors.NotFound
		}
	}
	return gcerrors.Unknown
}
