// Package deploy holds deployment files to copy: a compose file, Kubernetes
// manifests, a systemd unit and Prometheus alert rules. Its tests fail when
// one of them names an environment variable, port, path or command the
// portal does not have.
package deploy
