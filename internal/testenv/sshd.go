package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SSHDServer is one OpenSSH sshd serving SFTP (internal-sftp) on a free
// loopback port, owned by one test, with a throwaway ed25519 host key and
// one authorized client key. It logs in the test's own user, whose paths
// are the machine's: Dir is a folder of the test's for the server's files.
type SSHDServer struct {
	Host string
	Port int
	User string
	// Dir is a folder of the test's the SFTP folders can live in.
	Dir string
	// ClientKey is the private key file sshd accepts for User.
	ClientKey string
	// KnownHosts is a known_hosts file pinning the server's host key.
	KnownHosts string

	config, log string
	mu          sync.Mutex
	cmd         *exec.Cmd
	exited      chan struct{}
}

// SSHD starts an sshd for t and stops it when t ends. Without
// /usr/sbin/sshd (DRAFTER_TEST_SSHD; Debian openssh-server, which `make
// test` installs) it skips t, or fails it under CI.
func SSHD(t testing.TB) *SSHDServer {
	t.Helper()
	bin := os.Getenv("DRAFTER_TEST_SSHD")
	if bin == "" {
		bin = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(bin); err != nil {
		SkipOrFail(t, "sshd not found at %s (install Debian openssh-server, or set DRAFTER_TEST_SSHD; make test does)", bin)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		SkipOrFail(t, "ssh-keygen not found (install Debian openssh-client)")
	}
	// sshd refuses to start without its privilege separation folder.
	if _, err := os.Stat("/run/sshd"); err != nil {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			SkipOrFail(t, "sshd needs /run/sshd, which cannot be made here: %v", err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &SSHDServer{Host: "127.0.0.1", User: u.Username, Dir: filepath.Join(dir, "sftp"),
		config: filepath.Join(keys, "sshd_config"), log: filepath.Join(dir, "sshd.log")}
	if err := os.Mkdir(s.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hostKey, hostPub := SSHKey(t, keys, "host")
	s.ClientKey, _ = SSHKey(t, keys, "client")
	clientPub, err := os.ReadFile(s.ClientKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(keys, "authorized_keys")
	if err := os.WriteFile(auth, clientPub, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.Port = FreePort(t)
		cfg := strings.Join([]string{
			"Port " + strconv.Itoa(s.Port),
			"ListenAddress 127.0.0.1",
			"HostKey " + hostKey,
			"AuthorizedKeysFile " + auth,
			"PidFile " + filepath.Join(dir, "sshd.pid"),
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"PubkeyAuthentication yes",
			"PermitRootLogin prohibit-password",
			"UsePAM no",
			"StrictModes no",
			"Subsystem sftp internal-sftp",
			"LogLevel VERBOSE",
		}, "\n") + "\n"
		if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		if err = s.start(bin); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	s.KnownHosts = filepath.Join(keys, "known_hosts")
	s.PinHostKey(t, hostPub)
	t.Cleanup(s.stop)
	return s
}

// URL is the server as DRAFTER_BANK_URL takes it.
func (s *SSHDServer) URL() string { return fmt.Sprintf("sftp://%s@%s:%d", s.User, s.Host, s.Port) }

// PinHostKey writes known_hosts with pub (an "ssh-ed25519 AAAA..." line) as
// the server's key: the real one, or another to test a changed key.
func (s *SSHDServer) PinHostKey(t testing.TB, pub string) {
	t.Helper()
	f := strings.Fields(pub)
	if len(f) < 2 {
		t.Fatalf("public key %q", pub)
	}
	line := fmt.Sprintf("[%s]:%d %s %s\n", s.Host, s.Port, f[0], f[1])
	if err := os.WriteFile(s.KnownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Log returns what sshd logged so far.
func (s *SSHDServer) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// SSHKey makes a throwaway ed25519 key pair dir/name and dir/name.pub with
// ssh-keygen and returns the private key's path and the public key line.
func SSHKey(t testing.TB, dir, name string) (private, public string) {
	t.Helper()
	private = filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "drafter-test-"+name, "-f", private).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(private + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return private, strings.TrimSpace(string(pub))
}

func (s *SSHDServer) start(bin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "-f", s.config, "-D", "-e")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("sshd exited at start: %s", lastBytes([]byte(s.Log()), 2000))
		default:
		}
		if banner(addr) {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd not ready after 15s on %s: %s", addr, lastBytes([]byte(s.Log()), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// banner says whether an SSH server answers on addr.
func banner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-")
}

func (s *SSHDServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}
