package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/repo/repotest"
)

// TestSlowBodyIsCut: a client trickling a body (1 byte per 100 ms, far
// below 16 KiB/s) loses the request before it is complete, instead of
// holding it for the whole ReadTimeout.
func TestSlowBodyIsCut(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			s := startService(t, repotest.NewDatabase(t, backend))
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			const length = 1 << 20
			fmt.Fprintf(conn, "POST /billing/usage/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", s.admin, length)
			sent := make(chan int, 1)
			go func() {
				n := 0
				for n < length {
					if _, err := conn.Write([]byte{' '}); err != nil {
						break
					}
					n++
					time.Sleep(100 * time.Millisecond)
				}
				sent <- n
			}()
			// Without the guard the server waits 60 s (ReadTimeout); 30 s means it did not cut.
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the server still holds the trickled request after 30 s")
			}
			if err == nil {
				res.Body.Close()
				if res.StatusCode < 400 {
					t.Fatalf("a trickled body was answered %d", res.StatusCode)
				}
			}
			conn.Close()
			if n := <-sent; n >= length {
				t.Fatalf("the whole body (%d bytes) was read", n)
			}
		})
	}
}

// TestConnectionsPerClientAreCapped: one address gets maxConnsPerClient
// connections; more are closed at once, a freed slot is reusable, and
// another address is not affected.
func TestConnectionsPerClientAreCapped(t *testing.T) {
	for _, backend := range repotest.Backends() {
		t.Run(backend, func(t *testing.T) {
			s := startService(t, repotest.NewDatabase(t, backend))
			addr := strings.TrimPrefix(s.url, "http://")
			dialFrom := func(local string) net.Conn {
				t.Helper()
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			// closedByServer: a read ends with EOF or a reset, not the deadline.
			closedByServer := func(c net.Conn) bool {
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, err := c.Read(make([]byte, 1))
				var ne net.Error
				return err != nil && !(errors.As(err, &ne) && ne.Timeout())
			}
			healthy := func(c net.Conn) bool {
				fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return false
				}
				res.Body.Close()
				return res.StatusCode == http.StatusOK
			}
			var held []net.Conn
			for range maxConnsPerClient - 1 { // startService's client may keep one idle
				held = append(held, dialFrom("127.0.0.1"))
			}
			for range 2 {
				held = append(held, dialFrom("127.0.0.1"))
			}
			refused := 0
			for _, c := range held[len(held)-3:] {
				if closedByServer(c) {
					refused++
				}
			}
			if refused == 0 {
				t.Fatalf("%d connections from one address were all kept", len(held)+1)
			}
			if !healthy(held[0]) {
				t.Error("a connection within the limit does not answer")
			}
			if !healthy(dialFrom("127.0.0.2")) {
				t.Error("another address is refused too")
			}
			for _, c := range held[:10] {
				c.Close()
			}
			time.Sleep(100 * time.Millisecond) // the server notices the closes
			if !healthy(dialFrom("127.0.0.1")) {
				t.Error("a freed slot is not given again")
			}
		})
	}
}
