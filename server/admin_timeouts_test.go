package server_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/server"
)

// TestAdminServerTimeouts: the server drafter serve runs has every timeout
// set (TestIdleConnectionsLeaveRunsAlone shortens the header timeout, so
// it alone would not notice one removed), and a client that never
// finishes its request headers is cut off after ReadHeaderTimeout.
func TestAdminServerTimeouts(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	admin := server.NewAdmin(env, jobs.Registry{}, server.LockerFor(env.Store), nil)
	srv := admin.Server()
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s = %s, want a bound of at most 5m", name, d)
		}
	}
	if server.MaxConns <= 0 || server.MaxConns > 1024 {
		t.Errorf("MaxConns = %d", server.MaxConns)
	}

	base := serveAdmin(t, admin)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+strings.TrimPrefix(base, "http://")+"\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(server.ReadHeaderTimeout + 10*time.Second))
	io.Copy(io.Discard, c) // returns when the server closes the connection
	if took := time.Since(start); took > server.ReadHeaderTimeout+5*time.Second {
		t.Errorf("a request whose headers never end held its connection %s (ReadHeaderTimeout %s)", took, server.ReadHeaderTimeout)
	}
}
