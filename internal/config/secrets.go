package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/uwsportal/uwsportal/internal/secret"
)

// SecretVariables are the variables that carry a secret. Each may instead
// name a file with the same name and _FILE (Docker and Kubernetes secrets),
// read by ReadSecret with the same rules and the same errors.
var SecretVariables = []string{
	"DATABASE_URL",
	"OIDC_CLIENT_SECRET",
	"THINGSPACE_APP_SECRET",
	"UWSPORTAL_SMTP_PASSWORD",
	secret.EnvMasterKey,
}

// ReadSecret returns the value of the variable name, or the contents of the
// file that name_FILE names (trailing newlines dropped). Setting both is an
// error, so there is never doubt about which one is in force. The file must
// be a regular file only its owner may read (readFile, secret.ReadKeyFile in
// production, refuses others). Errors name the variable and the file, never
// the value.
func ReadSecret(getenv func(string) string, readFile func(string) ([]byte, error), name string) (string, error) {
	v, file := strings.TrimSpace(getenv(name)), strings.TrimSpace(getenv(name+"_FILE"))
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("%s and %s_FILE are both set: set only one", name, name)
	case file == "":
		return v, nil
	}
	if readFile == nil {
		readFile = secret.ReadKeyFile
	}
	b, err := readFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE cannot be read: %w", name, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s_FILE (%s) is empty", name, file)
	}
	return s, nil
}

// MasterKeys reads the master keyring from UWSPORTAL_MASTER_KEY or
// UWSPORTAL_MASTER_KEY_FILE (one or more base64 keys, current first).
func MasterKeys(getenv func(string) string, readFile func(string) ([]byte, error)) (*secret.Keyring, error) {
	spec, err := ReadSecret(getenv, readFile, secret.EnvMasterKey)
	if err != nil {
		return nil, err
	}
	if spec == "" {
		return nil, fmt.Errorf("%s is required (or %s_FILE): base64 32-byte keys, current first", secret.EnvMasterKey, secret.EnvMasterKey)
	}
	k, err := secret.ParseKeys(spec)
	if err != nil {
		src := secret.EnvMasterKey
		if getenv(secret.EnvMasterKey) == "" {
			src += "_FILE"
		}
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return k, nil
}

// secret reads a secret-bearing variable (or its _FILE) into the problems.
func (p *parser) secret(name string) string {
	v, err := ReadSecret(p.getenv, p.readFile, name)
	if err != nil {
		p.problems = append(p.problems, err.Error())
	}
	return v
}

// masterKey checks the master key settings. Plain keys are parsed here, so
// a missing or malformed key is listed with the rest (the message names the
// variable, never the key); wrapped keys are opened by the KMS at start.
func (p *parser) masterKey() string {
	kms := strings.TrimSpace(p.getenv(secret.EnvMasterKeyKMS))
	if kms == "" {
		if _, err := MasterKeys(p.getenv, p.readFile); err != nil {
			p.problems = append(p.problems, err.Error())
		}
		return ""
	}
	if err := secret.CheckKMSURL(kms); err != nil {
		p.fail(secret.EnvMasterKeyKMS, err.Error())
	}
	p.secret(secret.EnvMasterKey) // wrapped keys here, else in the database
	return kms
}

// Variables lists every environment variable the portal reads: those
// Load asks for (recorded, so the list cannot fall behind the code) and
// the KMS drivers' own (secret.VaultVariables). Deployment files are
// tested against it.
func Variables() []string {
	seen := map[string]bool{}
	record := func(name string) string {
		seen[name] = true
		return ""
	}
	_, _ = Load(record) // an empty environment is an error; only the names matter
	for _, v := range secret.VaultVariables {
		seen[v] = true
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
