package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The static credentials of the test S3 servers. They are test-only values,
// not secrets.
const (
	S3AccessKey = "drafter-test"
	S3SecretKey = "drafter-test-secret"
	S3Region    = "us-east-1"
)

// VersitygwEnv names the variable that may point at the versitygw binary.
const VersitygwEnv = "DRAFTER_TEST_VERSITYGW"

// S3Server is a versitygw process serving a private folder over S3 on a
// loopback port. Stop and Start, Pause and Resume let fault tests take it
// away and bring it back on the same port with the same objects.
type S3Server struct {
	bin  string
	dir  string
	addr string // 127.0.0.1:PORT

	mu  sync.Mutex
	cmd *exec.Cmd
}

var (
	sharedOnce sync.Once
	shared     *S3Server
	sharedErr  error
	bucketSeq  atomic.Int64
)

// S3 returns the s3:// URL of a fresh, empty bucket on the test binary's
// shared S3 server (started once, on first use), with endpoint, region and
// path_style set. It points the AWS credential chain of the whole process
// at the server's static credentials (see UseS3Credentials), so
// storage.Open(ctx, url) just works. The bucket's files are removed when t
// ends. Without versitygw it skips t (fails under CI).
func S3(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() {
		bin, err := versitygw()
		if err != nil {
			sharedErr = err
			return
		}
		shared, sharedErr = startS3Server(bin)
	})
	if sharedErr != nil {
		SkipOrFail(t, "S3 tests: %v", sharedErr)
	}
	return shared.Bucket(t)
}

// StartS3Server starts a dedicated versitygw for t, which fault tests may
// stop, pause and restart; it is killed and its folder removed when t
// ends. Without versitygw it skips t (fails under CI).
func StartS3Server(t testing.TB) *S3Server {
	t.Helper()
	bin, err := versitygw()
	if err != nil {
		SkipOrFail(t, "S3 tests: %v", err)
	}
	s, err := startS3Server(bin)
	if err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		s.kill()
		os.RemoveAll(s.dir)
	})
	return s
}

// versitygw finds the versitygw binary.
func versitygw() (string, error) {
	bin := Binary("versitygw", VersitygwEnv)
	if bin == "" {
		return "", fmt.Errorf("versitygw not found (set %s, or run make test, which installs it)", VersitygwEnv)
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return "", fmt.Errorf("versitygw not found at %s (from %s or PATH): run make test, which installs it", bin, VersitygwEnv)
	}
	return bin, nil
}

// UseS3Credentials points the AWS SDK's default credential chain of this
// process at the test servers' static credentials, and away from anything
// else: no profile, no shared files, no instance metadata service.
func UseS3Credentials() {
	os.Setenv("AWS_ACCESS_KEY_ID", S3AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", S3SecretKey)
	for _, v := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		os.Unsetenv(v)
	}
	none := filepath.Join(os.TempDir(), "drafter-test-no-aws-config")
	os.Setenv("AWS_CONFIG_FILE", none)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// startS3Server starts versitygw over a new folder on a free loopback port
// and waits until it answers.
func startS3Server(bin string) (*S3Server, error) {
	UseS3Credentials()
	sweepStaleDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("drafter-versitygw-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &S3Server{bin: bin, dir: dir, addr: addr}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// sweepStaleDirs removes the folders of servers whose test binary is gone
// (a test binary has no exit hook to remove its own).
func sweepStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "drafter-versitygw-*-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		if len(f) < 4 {
			continue
		}
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

func (s *S3Server) start() error {
	cmd := exec.Command(s.bin, "--access", S3AccessKey, "--secret", S3SecretKey,
		"--region", S3Region, "--port", s.addr, "--quiet", "posix", s.dir)
	cmd.Stdout = nil
	cmd.Stderr = nil
	// The server dies with the test binary, even when the binary is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited at start: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			return fmt.Errorf("versitygw did not listen on %s within 15s", s.addr)
		}
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	return nil
}

func (s *S3Server) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	// Wait is already running in start's goroutine; give it a moment so the
	// port is free for a restart.
	for range 100 {
		if s.cmd.Process.Signal(syscall.Signal(0)) != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd = nil
}

// Endpoint returns the server's base URL, http://127.0.0.1:PORT.
func (s *S3Server) Endpoint() string { return "http://" + s.addr }

// Addr returns the server's host:port on loopback.
func (s *S3Server) Addr() string { return s.addr }

// Bucket creates a fresh bucket named after t and returns its s3:// URL
// (endpoint, region and path_style set). Its files are removed when t ends.
func (s *S3Server) Bucket(t testing.TB) string {
	t.Helper()
	name := bucketName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.createBucket(ctx, name); err != nil {
		t.Fatalf("create test bucket %s: %v", name, err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(s.dir, name)) })
	return s.BucketURL(name)
}

// BucketURL returns the s3:// URL of bucket on this server.
func (s *S3Server) BucketURL(bucket string) string {
	q := url.Values{}
	q.Set("endpoint", s.Endpoint())
	q.Set("region", S3Region)
	q.Set("path_style", "true")
	return "s3://" + bucket + "?" + q.Encode()
}

func (s *S3Server) createBucket(ctx context.Context, name string) error {
	client := s3.New(s3.Options{
		Region:       S3Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(S3AccessKey, S3SecretKey, ""),
	})
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	return err
}

// bucketName makes a valid, unique S3 bucket name from a test name.
func bucketName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			if s := b.String(); s != "" && !strings.HasSuffix(s, "-") {
				b.WriteByte('-')
			}
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return strings.Trim(fmt.Sprintf("t%d-%s", bucketSeq.Add(1), base), "-")
}

// Stop kills the server (SIGKILL, as a crash would); Start brings it back.
func (s *S3Server) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

// Start restarts a stopped server on the same port over the same folder.
func (s *S3Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("restart versitygw: %v", err)
	}
}

// Pause freezes the server (SIGSTOP): connections are accepted by the
// kernel but nothing answers, like a hung server.
func (s *S3Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
}

// Resume undoes Pause (SIGCONT).
func (s *S3Server) Resume(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGCONT)
}

func (s *S3Server) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatalf("versitygw is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal versitygw: %v", err)
	}
}
