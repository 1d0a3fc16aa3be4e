package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, as the help and README state them.
const exitCodes = `Exit codes:
  0  done (a check passed)
  1  the command failed: a configuration or database error, a broken
     audit chain, an unhealthy instance, a schema this binary does not understand
  2  the command line is wrong: an unknown command or flag, a missing or bad value`

// tree builds the command line on cobra: help for every command (exit 0),
// every flag listed (read from each body's own flag set), shell completion
// (uwsportal completion bash|zsh|fish|powershell). Each body still parses
// its own arguments, so cobra's flag parsing is off for the leaves.
func (a *app) tree(ctx context.Context) *cobra.Command {
	root := &cobra.Command{
		Use:           "uwsportal",
		Short:         "The UWS credential portal: the web server and its operator commands",
		Long:          "The UWS credential portal: the web server (serve, the default) and its operator commands.\nConfiguration comes from the environment (README, Configuration).\n\n" + exitCodes,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
		RunE:          func(cmd *cobra.Command, args []string) error { return a.serve(ctx, args) },
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	parents := map[string]*cobra.Command{"": root}
	var parent func(path string) *cobra.Command
	parent = func(path string) *cobra.Command {
		if c, ok := parents[path]; ok {
			return c
		}
		up, name := splitPath(path)
		c := &cobra.Command{Use: name, Short: groups[path], RunE: groupRun(path)}
		parent(up).AddCommand(c)
		parents[path] = c
		return c
	}
	for _, l := range leaves() {
		up, name := splitPath(l.path)
		c := leafCommand(a, ctx, l, name)
		if g, ok := parents[l.path]; ok { // a group that also runs (migrate)
			g.RunE, g.Short, g.Long = c.RunE, groups[l.path], l.short
			g.DisableFlagParsing, g.ValidArgsFunction = true, c.ValidArgsFunction
			continue
		}
		if _, isGroup := groups[l.path]; isGroup {
			c.Short, c.Long = groups[l.path], l.short
			parents[l.path] = c
		}
		parent(up).AddCommand(c)
	}
	return root
}

func splitPath(path string) (parent, name string) {
	i := strings.LastIndexByte(path, ' ')
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

// leafCommand is one body under cobra: its flags shown, its arguments
// passed on untouched.
func leafCommand(a *app, ctx context.Context, l leaf, name string) *cobra.Command {
	fs, _ := l.describe() // a body that cannot describe itself is listed without flags (tested)
	c := &cobra.Command{Use: name, Short: l.short, DisableFlagParsing: true}
	c.Flags().AddGoFlagSet(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	c.ValidArgsFunction = func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if wantsHelp(args) {
			return cmd.Help()
		}
		if l.noFlags && len(args) > 0 && !slices.Contains(subcommandNames(cmd), args[0]) {
			return &exitError{code: 2, err: fmt.Errorf("%s takes no arguments (uwsportal %s --help)", l.path, l.path)}
		}
		return l.run(a, ctx, args)
	}
	return c
}

func subcommandNames(c *cobra.Command) []string {
	var out []string
	for _, s := range c.Commands() {
		out = append(out, s.Name())
	}
	return out
}

// wantsHelp: the bodies' own flag sets would answer -h with an error.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// groupRun answers a group named without a known subcommand.
func groupRun(path string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return &exitError{code: 2, err: fmt.Errorf("%s: give a subcommand (%s); uwsportal %s --help", path, strings.Join(subcommandNames(cmd), ", "), path)}
		}
		return &exitError{code: 2, err: fmt.Errorf("%s: unknown subcommand %q (%s); uwsportal %s --help", path, args[0], strings.Join(subcommandNames(cmd), ", "), path)}
	}
}

// execute runs the command line and gives cobra's own errors (an unknown
// command) the usage exit code.
func (a *app) execute(ctx context.Context, args []string) error {
	root := a.tree(ctx)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ee *exitError
	if err != nil && !errors.As(err, &ee) && strings.HasPrefix(err.Error(), "unknown command ") {
		return &exitError{code: 2, err: fmt.Errorf("%w (uwsportal --help)", err)}
	}
	return err
}

// CheckCommandLine says whether args (without the program name) name a
// command and flags this binary has, without running anything: the
// deployment files are tested against it.
func CheckCommandLine(args []string) error {
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: discard{}, stderr: discard{}}
	root := a.tree(context.Background())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var words []string
	for _, w := range args {
		if strings.HasPrefix(w, "-") {
			break
		}
		words = append(words, w)
	}
	found, rest, err := root.Find(words)
	if err != nil || len(rest) > 0 || (len(words) > 0 && found == root) {
		return fmt.Errorf("uwsportal %s: no such command", strings.Join(words, " "))
	}
	for _, w := range args[len(words):] {
		name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if !strings.HasPrefix(w, "-") || name == "help" || name == "h" {
			continue // a flag's value
		}
		if found.Flags().Lookup(name) == nil {
			return fmt.Errorf("%s has no flag --%s", found.CommandPath(), name)
		}
	}
	return nil
}
