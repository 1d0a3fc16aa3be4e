package main

// The KMS drivers UWSPORTAL_MASTER_KEY_KMS may name (gocloud.dev/secrets).
import (
	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"
)
