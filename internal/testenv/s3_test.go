package testenv

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestBucketName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	seen := map[string]bool{}
	for _, name := range []string{"TestX", "TestS3Suite/RoundTrip", "Test/" + strings.Repeat("Long_Name", 20), "Test/\"a//b\""} {
		b := bucketName(name)
		if !valid.MatchString(b) || seen[b] {
			t.Errorf("bucketName(%q) = %q: not a valid, unique bucket name", name, b)
		}
		seen[b] = true
	}
}

func TestS3ServerStopStart(t *testing.T) {
	s := StartS3Server(t)
	url := s.Bucket(t)
	if !strings.Contains(url, "endpoint=http%3A%2F%2F127.0.0.1%3A") || !strings.Contains(url, "path_style=true") {
		t.Errorf("bucket url %s: want a loopback endpoint and path style", url)
	}
	dial := func() error {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	s.Stop(t)
	if dial() == nil {
		t.Error("server still listening after Stop")
	}
	s.Start(t)
	if err := dial(); err != nil {
		t.Errorf("after Start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.createBucket(ctx, "after-restart"); err != nil {
		t.Errorf("create bucket after restart: %v", err)
	}
}
