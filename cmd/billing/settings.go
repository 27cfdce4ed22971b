package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/evovoice/billing/auth"
	"github.com/evovoice/billing/cmd/billing/internal/consume"
	"github.com/evovoice/billing/handlers"
	"github.com/evovoice/billing/repo"
	"github.com/evovoice/billing/triggers"
)

// Config is every setting of the binary, as the settings list loads it from
// flags and environment variables.
type Config struct {
	Addr           string
	DatabaseURL    string // as given: see databaseURL for the default
	DataDir        string
	DBConns        int // 0: the store's default
	Demo           bool
	PprofAddr      string
	RequestTimeout time.Duration
	JWTAlgorithm   string
	JWTSecret      string
	JWTPublicKey   string // PEM text or a file's path
	JWTPrivateKey  string // PEM text or a file's path
	JWTIssuer      string
	JWTAudience    string
	SessionTTL     time.Duration
	TrustedProxies []*net.IPNet
	LogFormat      string
	LogLevel       slog.Level
	BenchURL       string
	BenchToken     string

	ReplicaURLs   []string // Postgres streaming replicas for the usage reads
	ReplicaMaxLag time.Duration

	SecretKey           string // seals auth tokens; "": the data folder's key
	TriggerInterval     time.Duration
	WebhookAllowPrivate bool

	NATSURL        string // "": serve consumes nothing
	NATSStream     string
	NATSSubject    string
	NATSDurable    string
	NATSDeadLetter string
	NATSBatch      int
	NATSReplicas   int
	ConsumeStatus  bool
	MetricsAddr    string
}

// setting is one value of Config: its flag and environment variable, its
// default, the commands that take it, what it means, and how to read it.
type setting struct {
	flag  string   // without dashes; "" for a variable alone
	env   string   // "" for a flag alone
	def   string   // the value when neither is given
	shown string   // the default as help shows it, when def does not say it
	in    []string // commands that take it: "bench" is every bench verb
	usage string   // plain text: help, README and flag usage show it as is
	read  parser
}

// parser stores a setting's value in Config, or says what a good value is.
type parser struct {
	set    func(v string) error
	isBool bool // a flag given alone (--demo) means true
}

// settings lists every setting of every command, bound to c. `billing help`
// and the README's Configuration table are generated from it, and a test
// fails when a BILLING_ variable is read that it does not declare.
//
// To add a setting: add its field to Config and one entry here, naming its
// flag and/or BILLING_ variable, its default, the commands that take it and a
// parser below (which states what a good value is); then paste the row that
// TestREADMEConfigurationTable prints into the README. Commands find their
// settings in the Config that parse fills.
func (c *Config) settings() []setting {
	db := []string{"serve", "consume", "migrate", "account", "user", "ingest", "bench"}
	pool := []string{"serve", "consume", "migrate", "account", "user", "ingest", "bench seed", "bench query"}
	files := []string{"serve", "consume", "migrate", "account", "user", "ingest", "bench seed", "token"}
	signing := []string{"serve", "token"}
	logs := []string{"serve", "consume"}
	load := []string{"bench query", "bench ingest"}
	nats := []string{"serve", "consume"}
	return []setting{
		{flag: "addr", env: "BILLING_ADDR", def: "127.0.0.1:8080", in: []string{"serve"},
			usage: "address to listen on", read: text(&c.Addr)},
		{flag: "db", env: "BILLING_DATABASE_URL", shown: "<data dir>/billing.db", in: db,
			usage: "database URL: postgres://… or postgresql://…, or a SQLite file path (bench query and bench ingest: none, the database of --baseline and the check)",
			read:  text(&c.DatabaseURL)},
		{flag: "data-dir", env: "BILLING_DATA_DIR", def: "data", in: files,
			usage: "folder for the SQLite file, the demo JWT secret and the secret key", read: text(&c.DataDir)},
		{flag: "db-conns", env: "BILLING_DB_CONNS", shown: fmt.Sprintf("%d on Postgres, 8 on SQLite", repo.DefaultPostgresConns), in: pool,
			usage: "most database connections (bench query: its baselines' pool; leave it as the service's)", read: count(&c.DBConns)},
		{flag: "demo", env: "BILLING_DEMO", shown: "false", in: []string{"serve"},
			usage: "seed demo data into an empty database and print ready-to-use tokens", read: boolean(&c.Demo)},
		{flag: "pprof", env: "BILLING_PPROF_ADDR", shown: "off", in: []string{"serve"},
			usage: "serve Go profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060", read: text(&c.PprofAddr)},
		{flag: "request-timeout", def: shortDuration(handlers.DefaultRequestTimeout), in: []string{"serve"},
			usage: "deadline of each request, its database calls included", read: duration(&c.RequestTimeout)},
		{env: "BILLING_JWT_ALGORITHM", def: "HS256", in: signing,
			usage: "HS256, RS256 or ES256: only this algorithm is accepted", read: algorithm(&c.JWTAlgorithm)},
		{env: "BILLING_JWT_SECRET", in: signing,
			usage: "HS256 secret, at least 32 bytes; with --demo and none set, one is generated into <data dir>/jwt-secret (mode 0600) and reused",
			read:  secret(&c.JWTSecret, 32)},
		{env: "BILLING_JWT_PUBLIC_KEY", in: signing,
			usage: "PEM public key, or the path of a PEM file, for RS256/ES256", read: text(&c.JWTPublicKey)},
		{env: "BILLING_JWT_PRIVATE_KEY", in: signing,
			usage: "PEM private key, or its path, for RS256/ES256: signs billing token and dashboard sign-ins; without it serve starts, but sign-in answers 503 SignInUnavailable",
			read:  text(&c.JWTPrivateKey)},
		{env: "BILLING_JWT_ISSUER", in: signing,
			usage: "required iss claim (checked when set; written by billing token)", read: text(&c.JWTIssuer)},
		{env: "BILLING_JWT_AUDIENCE", in: signing,
			usage: "required aud claim (checked when set; written by billing token)", read: text(&c.JWTAudience)},
		{env: "BILLING_SECRET_KEY", in: []string{"serve", "account"},
			usage: "at least 32 bytes: seals auth tokens (AES-GCM) so that usage trigger callbacks can be signed; with --demo and none set, one is generated into <data dir>/secret-key (mode 0600) and reused; account add and rotate-token also read that file",
			read:  secret(&c.SecretKey, auth.MinSecretKeyLength)},
		{flag: "trigger-interval", env: "BILLING_TRIGGER_INTERVAL", def: shortDuration(triggers.DefaultInterval), in: []string{"serve"},
			usage: "how often every usage trigger is evaluated, besides right after each ingestion", read: duration(&c.TriggerInterval)},
		{flag: "webhook-allow-private", env: "BILLING_WEBHOOK_ALLOW_PRIVATE", shown: "false", in: []string{"serve"},
			usage: "let trigger callbacks go to loopback, private and link-local addresses (tests, on-premise)", read: boolean(&c.WebhookAllowPrivate)},
		{flag: "replica-urls", env: "BILLING_DATABASE_REPLICA_URLS", shown: "none", in: []string{"serve"},
			usage: "comma-separated Postgres streaming replicas that serve the usage reads (see Scale-out)", read: urlList(&c.ReplicaURLs)},
		{flag: "replica-max-lag", env: "BILLING_REPLICA_MAX_LAG", def: shortDuration(repo.DefaultReplicaMaxLag), in: []string{"serve"},
			usage: "a replica further behind the primary than this is skipped until it catches up", read: duration(&c.ReplicaMaxLag)},
		{env: "BILLING_SESSION_TTL", def: shortDuration(handlers.DefaultSessionTTL), in: []string{"serve"},
			usage: "how long a dashboard sign-in lasts", read: duration(&c.SessionTTL)},
		{env: "BILLING_TRUSTED_PROXIES", shown: "none", in: []string{"serve"},
			usage: "comma-separated CIDRs (or addresses) of reverse proxies whose X-Forwarded-For names the client; without them the peer address is the client",
			read:  cidrs(&c.TrustedProxies)},
		{env: "BILLING_LOG_FORMAT", def: "text", in: logs,
			usage: "text, or json (anything else is text)", read: text(&c.LogFormat)},
		{env: "BILLING_LOG_LEVEL", def: "info", in: logs,
			usage: "debug, info, warn or error (anything else is info)", read: level(&c.LogLevel)},
		{flag: "url", env: "BILLING_BENCH_URL", def: "http://127.0.0.1:8080", in: load,
			usage: "the service's base URL", read: text(&c.BenchURL)},
		{flag: "token", env: "BILLING_BENCH_TOKEN", in: load,
			usage: "SystemAdministrator bearer token, from billing token --sub bench --roles SystemAdministrator", read: text(&c.BenchToken)},
		{flag: "nats", env: "BILLING_NATS_URL", shown: "none", in: nats,
			usage: "NATS server URLs, comma-separated, to consume usage events from (required by consume; serve consumes too when set)", read: text(&c.NATSURL)},
		{flag: "stream", env: "BILLING_NATS_STREAM", def: consume.DefaultStream, in: nats,
			usage: "JetStream stream of usage events (created if missing)", read: text(&c.NATSStream)},
		{flag: "subject", env: "BILLING_NATS_SUBJECT", def: consume.DefaultSubject, in: nats,
			usage: "subjects of the stream when it is created", read: text(&c.NATSSubject)},
		{flag: "durable", env: "BILLING_NATS_DURABLE", def: consume.DefaultDurable, in: nats,
			usage: "durable consumer name, shared by every billing process", read: text(&c.NATSDurable)},
		{flag: "dead-letter", env: "BILLING_NATS_DEAD_LETTER", def: consume.DefaultDeadLetter, in: nats,
			usage: "subject for events that cannot be stored (kept in stream " + consume.DeadLetterStream + ")", read: text(&c.NATSDeadLetter)},
		{flag: "batch", def: strconv.Itoa(consume.DefaultBatch), in: nats,
			usage: "most messages per transaction", read: count(&c.NATSBatch)},
		{flag: "replicas", def: "1", in: nats,
			usage: "replicas of the streams when they are created", read: count(&c.NATSReplicas)},
		{flag: "status", shown: "false", in: []string{"consume"},
			usage: "print the durable consumer's state and the dead letters' count, then exit", read: boolean(&c.ConsumeStatus)},
		{flag: "metrics", shown: "off", in: []string{"consume"},
			usage: "serve /metrics on this address, e.g. 127.0.0.1:9090", read: text(&c.MetricsAddr)},
	}
}

// takenBy says whether the command (a flag set's name: "serve", "bench seed")
// takes the setting.
func (s setting) takenBy(cmd string) bool {
	for _, c := range s.in {
		if cmd == c || strings.HasPrefix(cmd, c+" ") {
			return true
		}
	}
	return false
}

// rawValue is a setting's text before it is read: its default or variable,
// replaced by the flag when given.
type rawValue struct {
	text   string
	isBool bool
}

func (r *rawValue) String() string {
	if r == nil {
		return ""
	}
	return r.text
}
func (r *rawValue) Set(v string) error { r.text = v; return nil }
func (r *rawValue) IsBoolFlag() bool   { return r.isBool }

// flags is a subcommand's flag set; its Config holds the settings the
// command takes once parse has read them.
type flags struct {
	*flag.FlagSet
	Config *Config
	taken  []takenSetting // in the list's order
}

// takenSetting is a setting of the command and its text.
type takenSetting struct {
	setting
	raw *rawValue
}

func newFlags(name string) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by main
	f := flags{FlagSet: fs, Config: &Config{}}
	for _, s := range f.Config.settings() {
		if !s.takenBy(name) {
			continue
		}
		r := &rawValue{text: s.def, isBool: s.read.isBool}
		if v := os.Getenv(s.env); s.env != "" && v != "" {
			r.text = v
		}
		if s.flag != "" {
			fs.Var(r, s.flag, s.usage)
		}
		f.taken = append(f.taken, takenSetting{s, r})
	}
	return f
}

// load reads every setting the command takes into Config and reports every
// bad value at once, each by the flag or variable it came from.
func (f flags) load() error {
	given := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var problems []string
	for _, s := range f.taken {
		if err := s.read.set(s.raw.text); err != nil {
			name := s.env
			if given[s.flag] || s.env == "" {
				name = "--" + s.flag
			}
			problems = append(problems, name+": "+err.Error())
		}
	}
	// What no single setting can see:
	c := f.Config
	takesKeys := slices.ContainsFunc(f.taken, func(s takenSetting) bool { return s.env == "BILLING_JWT_PUBLIC_KEY" })
	if takesKeys && (c.JWTAlgorithm == "RS256" || c.JWTAlgorithm == "ES256") && c.JWTPublicKey == "" {
		problems = append(problems, "BILLING_JWT_PUBLIC_KEY: required for BILLING_JWT_ALGORITHM="+c.JWTAlgorithm)
	}
	if f.Name() == "consume" && c.NATSURL == "" {
		problems = append(problems, "--nats: required (or BILLING_NATS_URL)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", f.Name(), strings.Join(problems, "; "))
	}
	return nil
}

// The parsers: each stores a good value, or says what a good value is.

func text(p *string) parser {
	return parser{set: func(v string) error { *p = v; return nil }}
}

func count(p *int) parser {
	return parser{set: func(v string) error {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errors.New("must be a whole number ≥ 1")
		}
		*p = n
		return nil
	}}
}

func boolean(p *bool) parser {
	return parser{set: func(v string) error {
		switch strings.ToLower(v) {
		case "1", "t", "true", "yes":
			*p = true
		case "", "0", "f", "false", "no":
			*p = false
		default:
			return errors.New("must be true or false")
		}
		return nil
	}, isBool: true}
}

func duration(p *time.Duration) parser {
	return parser{set: func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 8h or 30s")
		}
		*p = d
		return nil
	}}
}

func algorithm(p *string) parser {
	return parser{set: func(v string) error {
		*p = strings.ToUpper(v)
		switch *p {
		case "HS256", "RS256", "ES256":
			return nil
		}
		return errors.New("must be HS256, RS256 or ES256")
	}}
}

// secret reads a secret of at least min bytes, or none.
func secret(p *string, min int) parser {
	return parser{set: func(v string) error {
		if v != "" && len(v) < min {
			return fmt.Errorf("at least %d bytes", min)
		}
		*p = v
		return nil
	}}
}

// cidrs reads CIDRs, or single addresses (a /32 or /128).
func urlList(p *[]string) parser {
	return parser{set: func(v string) error {
		urls := splitList(v)
		for _, u := range urls {
			if repo.DialectOf(u) != repo.Postgres {
				return errors.New("must be postgres:// or postgresql:// URLs, comma-separated")
			}
		}
		*p = urls
		return nil
	}}
}

func cidrs(p *[]*net.IPNet) parser {
	return parser{set: func(v string) error {
		var bad []string
		for _, item := range splitList(v) {
			s := item
			if !strings.Contains(s, "/") {
				if ip := net.ParseIP(s); ip != nil && ip.To4() != nil {
					s += "/32"
				} else {
					s += "/128"
				}
			}
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				bad = append(bad, strconv.Quote(item))
				continue
			}
			*p = append(*p, n)
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s: not a CIDR such as 10.0.0.0/8", strings.Join(bad, ", "))
		}
		return nil
	}}
}

// level reads a log level; an unknown one is info, as it always was.
func level(p *slog.Level) parser {
	return parser{set: func(v string) error {
		if p.UnmarshalText([]byte(v)) != nil {
			*p = slog.LevelInfo
		}
		return nil
	}}
}

// shortDuration writes 12h, not 12h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// settingRows are the settings as help and the README show them.
func settingRows() [][5]string {
	var rows [][5]string
	for _, s := range new(Config).settings() {
		fl, def := "", s.def
		if s.flag != "" {
			fl = "--" + s.flag
		}
		if s.shown != "" {
			def = s.shown
		}
		rows = append(rows, [5]string{s.env, fl, def, strings.Join(s.in, ", "), s.usage})
	}
	return rows
}

// printSettings writes the settings table of `billing help`.
func printSettings(out io.Writer) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  variable\tflag\tdefault\tcommands\tmeaning")
	for _, r := range settingRows() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3], r[4])
	}
	tw.Flush()
}

// settingsMarkdown is the README's Configuration table.
func settingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| variable | flag | default | commands | meaning |\n|---|---|---|---|---|\n")
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + s + "`"
	}
	for _, r := range settingRows() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", code(r[0]), code(r[1]), code(r[2]), r[3], r[4])
	}
	return b.String()
}
