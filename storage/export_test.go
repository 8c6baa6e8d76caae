package storage

import (
	"bytes"
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// PutWithChecksum uploads body under key claiming the base64 SHA256
// checksum, as a corrupted upload would arrive at the server.
func (s *S3) PutWithChecksum(ctx context.Context, key string, body []byte, checksum string) error {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + key),
		Body:   bytes.NewReader(body),
	}
	return s.wrap(s.putObject(ctx, in, checksum))
}

// UsesXattr reports whether s keeps metadata in extended attributes.
func (s *FS) UsesXattr() bool { return s.xattr }

// WithoutXattr makes s keep metadata in sidecar files, as it does on a file
// system without user extended attributes.
func (s *FS) WithoutXattr() *FS { s.xattr = false; return s }
