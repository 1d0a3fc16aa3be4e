//go:build !nokms

package main

// The cloud KMS drivers UWSPORTAL_MASTER_KEY_KMS may name
// (gocloud.dev/secrets): about 13 MB of the binary. Build with -tags nokms
// to leave them out; Vault Transit (hashivault://) and plain keys remain.
import (
	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"
)
