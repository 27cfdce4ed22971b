package main

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// What one client address can hold of the server. Without these, a client
// trickling bodies kept a connection and its goroutine for the whole 60 s
// ReadTimeout, with no cap on how many. Now:
//   - at most maxConnsPerClient (64) connections per peer address at once
//     (a browser opens 6 per host; 64 leaves room for API clients' pools);
//     beyond that a new connection is closed as soon as it is accepted.
//     Trusted proxies are exempt: they carry many clients;
//   - a body must arrive at minBodyRate (16 KiB/s) on average after a
//     bodyGrace (5 s) start: a 1 MB body may take 5 + 64 s (cut at the 60 s
//     ReadTimeout), a 1-byte-a-second trickle is cut after about 5 s.
//
// So one address holds at most 64 connections, each for at most 10 s of
// headers (ReadHeaderTimeout) plus 5 s of a too-slow body, 60 s when it
// really sends 16 KiB/s (about 1 MB), or 120 s idle (IdleTimeout).
const (
	maxConnsPerClient = 64
	minBodyRate       = 16 << 10 // bytes per second
	bodyGrace         = 5 * time.Second
	readTimeout       = 60 * time.Second
)

// perClientListener closes connections beyond maxConnsPerClient per peer IP.
type perClientListener struct {
	net.Listener
	trusted []*net.IPNet
	mu      sync.Mutex
	open    map[string]int
}

func limitPerClient(ln net.Listener, trusted []*net.IPNet) net.Listener {
	return &perClientListener{Listener: ln, trusted: trusted, open: map[string]int{}}
}

func (l *perClientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		if l.isTrusted(ip) {
			return c, nil
		}
		l.mu.Lock()
		over := l.open[ip] >= maxConnsPerClient
		if !over {
			l.open[ip]++
		}
		l.mu.Unlock()
		if over {
			c.Close()
			continue
		}
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *perClientListener) isTrusted(ip string) bool {
	addr := net.ParseIP(ip)
	for _, n := range l.trusted {
		if addr != nil && n.Contains(addr) {
			return true
		}
	}
	return false
}

func (l *perClientListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// countedConn gives its slot back once, when closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// minRateBodies cuts a request whose body arrives slower than minBodyRate
// after bodyGrace, by moving the connection's read deadline as bytes come.
func minRateBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			start := time.Now()
			rc := http.NewResponseController(w)
			b := &rateBody{ReadCloser: r.Body, rc: rc, start: start, last: start.Add(readTimeout)}
			b.extend()
			r.Body = b
		}
		next.ServeHTTP(w, r)
	})
}

type rateBody struct {
	io.ReadCloser
	rc          *http.ResponseController
	start, last time.Time
	read        int64
}

func (b *rateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case err == io.EOF:
		// Whole: back to the ReadTimeout, which also bounds the server's
		// read behind the handler (a deadline passing there cancels it).
		_ = b.rc.SetReadDeadline(b.last)
	case n > 0:
		b.extend()
	}
	return n, err
}

// extend sets the deadline by which the body must have reached its next
// 16 KiB: grace plus the time the bytes so far earn, never past ReadTimeout.
func (b *rateBody) extend() {
	d := b.start.Add(bodyGrace + time.Duration(b.read)*time.Second/minBodyRate)
	if d.After(b.last) {
		d = b.last
	}
	_ = b.rc.SetReadDeadline(d) // unsupported writers keep the ReadTimeout
}
