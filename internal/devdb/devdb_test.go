package devdb

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDatabaseURLWins(t *testing.T) {
	u, src, err := Resolve(context.Background(), Options{Getenv: env(map[string]string{"DATABASE_URL": "postgres://x@db.example:5432/app"})})
	if err != nil || src != FromEnv || u != "postgres://x@db.example:5432/app" {
		t.Fatalf("got %q %q %v", u, src, err)
	}
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestLocalServerWhenOneAnswers(t *testing.T) {
	if !Reachable("127.0.0.1:5432") {
		t.Skip("no PostgreSQL on 127.0.0.1:5432 on this machine; the private-cluster test covers the other path")
	}
	u, src, err := Resolve(context.Background(), Options{Getenv: env(nil)})
	if err != nil || src != FromLocal {
		t.Fatalf("got %q %q %v", u, src, err)
	}
}

func TestNothingAnswersAndNoRootIsAClearError(t *testing.T) {
	_, _, err := Resolve(context.Background(), Options{Getenv: env(nil), LocalAddr: deadAddr(t)})
	if err == nil {
		t.Fatal("expected an error")
	}
}

// TestPrivateClusterWhenNothingAnswers starts a real cluster from the
// installed binaries in a temporary root, on a port of its own.
func TestPrivateClusterWhenNothingAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	root := t.TempDir()
	// The cluster runs as the postgres user when we are root: it must be
	// able to reach its data directory. Only the directories the test made
	// are opened up; the temporary directory itself is left as it is.
	tmp := filepath.Clean(os.TempDir())
	for d := root; filepath.Dir(d) != d && d != tmp; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u, src, err := Resolve(ctx, Options{Getenv: env(nil), LocalAddr: deadAddr(t), Root: root, PrivatePort: port, Log: t.Logf})
	if err != nil {
		b, rerr := os.ReadFile(filepath.Join(root, ".data", "run", "postgres.log"))
		if rerr != nil {
			t.Errorf("the cluster's log: %v", rerr)
		}
		t.Fatalf("%v\n%s", err, b)
	}
	t.Cleanup(func() {
		if err := StopPrivate(context.Background(), root); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if src != FromPrivate {
		t.Fatalf("source %q", src)
	}
	db, err := EnsureDatabase(ctx, u, "demo_x")
	if err != nil {
		t.Fatal(err)
	}
	if !answers(ctx, db) {
		t.Fatalf("created database does not answer")
	}
	// A second resolve finds the running cluster instead of starting another.
	u2, src2, err := Resolve(ctx, Options{Getenv: env(nil), LocalAddr: deadAddr(t), Root: root, PrivatePort: port})
	if err != nil || src2 != FromPrivate || u2 != u {
		t.Fatalf("second resolve: %q %q %v", u2, src2, err)
	}
}
