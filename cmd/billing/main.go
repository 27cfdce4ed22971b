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
	run     func(ctx context.Context, args []string, out io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP service: serve [--addr 127.0.0.1:8080] [--db URL] [--demo]", runServe},
		{"migrate", "apply pending database migrations: migrate [--db URL]", runMigrate},
		{"account", "manage accounts: account add --name NAME [--sid SID] [--parent SID] [--currency usd] | account rotate-token SID", runAccount},
		{"user", "manage dashboard users: user add --name NAME --roles R1,R2 [--accounts SID,SID] [--display-name TEXT] [--password-file PATH] | user set-password --name NAME [--password-file PATH]; the password comes from the file or standard input", runUser},
		{"ingest", "record usage events from NDJSON: ingest [--db URL] FILE (- for stdin)", runIngest},
		{"token", "print a signed JWT: token --sub ID --roles R1,R2 [--accounts SID,SID] [--name NAME] [--ttl 1h]", runToken},
		{"bench", "load harness: bench seed --db URL [--accounts 1000 --days 730 --seed 1] | bench query --url URL --token T | bench ingest --url URL --token T (bench help for all flags)", runBench},
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
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(out)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], out)
			if errors.Is(err, flag.ErrHelp) {
				printHelp(out)
				return nil
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
	fmt.Fprintln(out, "\nEvery flag can also be set by its environment variable:")
	for _, e := range environment {
		fmt.Fprintf(out, "  %-24s %s\n", e.name, e.usage)
	}
}

// parse parses flags and reports a bad one in the message main prints.
func parse(f flags, args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return nil
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
