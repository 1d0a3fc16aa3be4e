package secret

import (
	"fmt"
	"os"
)

// ReadKeyFile reads a secret file (the master key, any _FILE variable), refusing one that anybody
// but its owner may read or write: a master key readable by a group or by
// everyone is a key that has leaked to them. (Kubernetes secret volumes
// need defaultMode 0400 or 0600.)
func ReadKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o: group and others must have no access (chmod 600 %s)", path, perm, path)
	}
	return os.ReadFile(path)
}
