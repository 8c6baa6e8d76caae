// Package sftpd is an SFTP server in the process: an SSH server on a
// loopback port with pkg/sftp's server as its sftp subsystem, serving the
// machine's files as OpenSSH's internal-sftp does without a chroot. The
// simulation's bank runs on it, and tests use it where a server without
// OpenSSH's extensions (fsync@openssh.com) is the point. It accepts one
// throwaway ed25519 key, made at Start, and pins its host key in a
// known_hosts file, so clients connect as to a bank.
package sftpd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Server is one running server.
type Server struct {
	// User is the login the server accepts (any name, with the key);
	// Host and Port where it listens.
	User string
	Host string
	Port int
	// KeyFile is the client's private key (OpenSSH format, no passphrase);
	// KnownHostsFile pins the server's host key.
	KeyFile, KnownHostsFile string

	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// Start starts a server on 127.0.0.1 with its keys and known_hosts file
// in keyDir (made if missing).
func Start(keyDir string) (*Server, error) {
	s := &Server{User: "drafter", Host: "127.0.0.1", conns: map[net.Conn]bool{}}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return nil, fmt.Errorf("sftpd: %w", err)
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	sshClientPub, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(clientPriv, "drafter-sftpd")
	if err != nil {
		return nil, err
	}
	s.KeyFile = filepath.Join(keyDir, "client")
	if err := os.WriteFile(s.KeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), sshClientPub.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("sftpd: %w", err)
	}
	s.Port = s.ln.Addr().(*net.TCPAddr).Port
	s.KnownHostsFile = filepath.Join(keyDir, "known_hosts")
	line := knownhosts.Line([]string{fmt.Sprintf("%s:%d", s.Host, s.Port)}, hostSigner.PublicKey())
	if err := os.WriteFile(s.KnownHostsFile, []byte(line+"\n"), 0o600); err != nil {
		s.ln.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.serve(cfg)
	return s, nil
}

func (s *Server) serve(cfg *ssh.ServerConfig) {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
				nc.Close()
			}()
			s.session(nc, cfg)
		}()
	}
}

// session serves one SSH connection: session channels whose only
// accepted request is the sftp subsystem.
func (s *Server) session(nc net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			return
		}
		go func() {
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				_ = req.Reply(ok, nil)
				if ok {
					go func() {
						defer ch.Close()
						srv, err := sftp.NewServer(ch)
						if err != nil {
							return
						}
						_ = srv.Serve()
					}()
				}
			}
		}()
	}
}

// Close stops the server and ends its connections.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}
