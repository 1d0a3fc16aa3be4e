// Package e2e holds the portal's browser end-to-end tests: a real Chromium,
// driven with chromedp, signs in through the development identity provider
// and uses the portal as each persona would, against the ThingSpace
// simulator and a fresh PostgreSQL database. The tests run with go test ./...
// and need no setup beyond what make test needs: Chromium is installed when
// missing and the tests run as root, and skipped otherwise.
package e2e
