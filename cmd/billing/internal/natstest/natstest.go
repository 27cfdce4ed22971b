// Package natstest runs real nats-server processes for tests, each on spare
// loopback ports with a storage folder of its own, so that tests never touch
// the shared server on 4222.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Env names the variable holding the nats-server binary; tests that need a
// server are skipped when it is unset and fail when it names nothing runnable.
const Env = "BILLING_TEST_NATS"

// Server is one nats-server process with JetStream.
type Server struct {
	t           testing.TB
	bin, name   string
	dir         string
	port, cport int
	routes      []string
	cmd         *exec.Cmd
	done        chan struct{}
}

// Binary returns the nats-server to run, or skips the test.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(Env)
	if bin == "" {
		t.Skip(Env + " is unset: set it to the nats-server binary to run the NATS tests")
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("%s=%s: %v", Env, bin, err)
	}
	return bin
}

// Start runs a single server.
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t, Binary(t), "n1")
	s.Start()
	WaitJetStream(t, s.URL())
	return s
}

// StartCluster runs n servers routed to each other in one cluster.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	bin := Binary(t)
	servers := make([]*Server, n)
	for i := range servers {
		servers[i] = newServer(t, bin, fmt.Sprintf("n%d", i+1))
		servers[i].cport = freePort(t)
	}
	for _, s := range servers {
		for _, o := range servers {
			if o != s {
				s.routes = append(s.routes, fmt.Sprintf("nats://127.0.0.1:%d", o.cport))
			}
		}
	}
	for _, s := range servers {
		s.Start()
	}
	WaitJetStream(t, URLs(servers))
	return servers
}

func newServer(t testing.TB, bin, name string) *Server {
	s := &Server{t: t, bin: bin, name: name, dir: t.TempDir(), port: freePort(t)}
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// URLs joins the servers' URLs as nats.Connect takes them.
func URLs(servers []*Server) string {
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// Start starts the process (again, after Kill, on the same ports and
// storage) and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	args := []string{"-js", "-sd", filepath.Join(s.dir, "js"), "--server_name", s.name, "-a", "127.0.0.1", "-p", fmt.Sprint(s.port)}
	if s.cport != 0 {
		args = append(args, "--cluster_name", "billing-test", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", s.cport), "--routes", strings.Join(s.routes, ","))
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer log.Close()
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			text, _ := os.ReadFile(filepath.Join(s.dir, "log"))
			s.t.Fatalf("nats-server %s did not listen on %d: %s", s.name, s.port, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops the process at once, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// WaitJetStream waits until JetStream answers at url (in a cluster: once a
// meta leader is elected).
func WaitJetStream(t testing.TB, url string) {
	t.Helper()
	nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream at %s not ready: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
