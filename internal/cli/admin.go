package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	portal "github.com/uwsportal/uwsportal/internal/app"
	"io"
	"strings"

	"github.com/uwsportal/uwsportal/internal/secret"
	"github.com/uwsportal/uwsportal/models"
)

// flags parses args with a flag set whose errors say what to do.
func (a *app) flags(name string, args []string, define func(fs *flag.FlagSet)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	define(fs)
	if a.describe != nil {
		a.describe(fs)
		return errDescribed
	}
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", name, err)}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("%s: unexpected argument %q (a secret is never taken from the command line: use stdin)", name, fs.Arg(0))}
	}
	return nil
}

// readSecret reads one line from stdin: a secret never comes from a flag.
func (a *app) readSecret(what string) (secret.Secret, error) {
	line, err := bufio.NewReader(io.LimitReader(a.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s from stdin: %w", what, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", &exitError{code: 2, err: fmt.Errorf("no %s on stdin: pipe it in, e.g. from a password manager", what)}
	}
	return secret.Secret(line), nil
}

// createAdmin creates or replaces a break-glass local admin.
func (a *app) createAdmin(ctx context.Context, args []string) error {
	var username string
	if err := a.flags("create-admin", args, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "break-glass username")
	}); err != nil {
		return err
	}
	if username == "" {
		return &exitError{code: 2, err: errors.New("create-admin: --username is required")}
	}
	pw, err := a.readSecret("password")
	if err != nil {
		return err
	}
	err = a.withCore(ctx, func(core *portal.Core, p *models.Principal) error {
		return core.Identity.SetLocalAdmin(ctx, p, username, pw)
	})
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(a.stdout, "break-glass admin %q saved; sign in at /login/local\n", username)
	return nil
}

// mapGroup maps an IdP group to a role (and department).
func (a *app) mapGroup(ctx context.Context, args []string) error {
	var m models.Mapping
	var role string
	if err := a.flags("map-group", args, func(fs *flag.FlagSet) {
		fs.StringVar(&m.Group, "group", "", "IdP group name")
		fs.StringVar(&role, "role", "", "admin, auditor, lead or member")
		fs.StringVar(&m.Department, "department", "", "department slug (lead and member)")
	}); err != nil {
		return err
	}
	m.Role = models.Role(role)
	var id int64
	err := a.withCore(ctx, func(core *portal.Core, p *models.Principal) error {
		var err error
		id, err = core.Identity.CreateMapping(ctx, p, cliMeta(), m)
		return err
	})
	if err != nil {
		return userError(err)
	}
	fmt.Fprintf(a.stdout, "mapping %d: group %q → %s %s\n", id, m.Group, m.Role, m.Department)
	return nil
}

// userError shows a domain error's safe message alone.
func userError(err error) error {
	if msg, ok := models.SafeMessage(err); ok {
		return errors.New(msg)
	}
	return err
}
