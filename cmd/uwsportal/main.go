// Command uwsportal is the portal: the web server and its operator commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/uwsportal/uwsportal/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "uwsportal:", err)
		os.Exit(cli.ExitCode(err))
	}
}

func run(ctx context.Context, args []string, getenv func(string) string) error {
	cli.Version = version
	return cli.Run(ctx, args, getenv, cli.OSStdio())
}
