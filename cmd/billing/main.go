// Command billing is the usage-billing service and its operator tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     runFunc
}

// runFunc runs a command with the arguments after its name.
type runFunc func(ctx context.Context, args []string, out io.Writer) error

// subcommand is one verb of a command (account add, bench seed, …).
type subcommand struct {
	name string
	run  runFunc
}

// subcommands runs the verb args[0] names.
func subcommands(command string, subs ...subcommand) runFunc {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	return func(ctx context.Context, args []string, out io.Writer) error {
		if len(args) == 0 {
			return fmt.Errorf("%s: say %s or %s", command, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
		}
		if isHelp(args[0]) {
			fmt.Fprintf(out, "%s %s; add --help after one for its flags\n", command, strings.Join(names, "|"))
			return nil
		}
		for _, s := range subs {
			if s.name == args[0] {
				return s.run(ctx, args[1:], out)
			}
		}
		return fmt.Errorf("%s: unknown subcommand %q (%s)", command, args[0], strings.Join(names, ", "))
	}
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP service: serve [--addr 127.0.0.1:8080] [--db URL] [--demo]", runServe},
		{"migrate", "apply pending database migrations: migrate [--db URL]", runMigrate},
		{"account", "manage accounts: account add --name NAME [--sid SID] [--parent SID] [--currency usd] | account rotate-token SID", subcommands("account", subcommand{"add", runAccountAdd}, subcommand{"rotate-token", runAccountRotateToken})},
		{"user", "manage dashboard users: user add --name NAME --roles R1,R2 [--accounts SID,SID] [--display-name TEXT] [--password-file PATH] | user set-password --name NAME [--password-file PATH]; the password comes from the file or standard input", subcommands("user", subcommand{"add", runUserAdd}, subcommand{"set-password", runUserSetPassword})},
		{"consume", "store usage events from a NATS JetStream stream: consume --nats URL [--stream USAGE] [--subject 'usage.events.>'] [--durable billing] [--batch 1000] [--replicas 1] [--dead-letter usage.deadletter] | consume --nats URL --status", runConsume},
		{"ingest", "record usage events from NDJSON: ingest [--db URL] FILE (- for stdin)", runIngest},
		{"token", "print a signed JWT: token --sub ID --roles R1,R2 [--accounts SID,SID] [--name NAME] [--ttl 1h]", runToken},
		{"bench", "load harness: bench seed --db URL [--accounts 1000 --days 730 --seed 1] | bench query --url URL --token T | bench ingest --url URL --token T (bench seed --help and so on for every flag)", subcommands("bench", subcommand{"seed", runBenchSeed}, subcommand{"query", runBenchQuery}, subcommand{"ingest", runBenchIngest})},
		{"check", "exit 0 if a URL answers 200, for container health checks: check [--url http://127.0.0.1:8080/readyz]", runCheck},
	}
}

func main() {
	ctx, stop := signalContext()
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "billing:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || isHelp(args[0]) {
		printHelp(out)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], out)
			if errors.Is(err, flag.ErrHelp) {
				return nil // parse printed the flags
			}
			return err
		}
	}
	return fmt.Errorf("unknown command %q; run `billing help`", args[0])
}

func printHelp(out io.Writer) {
	fmt.Fprintln(out, "billing: usage billing for a cloud voice platform\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(out, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(out, "\nSettings (a flag wins over its variable):")
	printSettings(out)
}

func isHelp(arg string) bool { return arg == "help" || arg == "-h" || arg == "--help" }

// parse parses flags and loads the command's settings into f.Config,
// reporting a bad flag, or every bad setting, in the message main prints;
// --help prints the command's flags.
func parse(f flags, args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.SetOutput(os.Stdout)
			fmt.Printf("billing %s flags:\n", f.Name())
			f.PrintDefaults()
			return err
		}
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return f.load()
}

// splitList reads a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
