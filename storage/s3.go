package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3 defaults.
const (
	// DefaultS3MaxAttempts bounds the attempts of one request (the first
	// and the retries on throttling, 5xx and connection errors).
	DefaultS3MaxAttempts = 5
	// DefaultS3PartSize is the multipart threshold and part size: bodies
	// of at least this size are uploaded in parts.
	DefaultS3PartSize = 16 << 20
	// MinS3PartSize is the smallest part S3 accepts.
	MinS3PartSize = 5 << 20
)

// ResponseHeaderTimeout bounds the wait for a response once a request is
// sent; AWS answers large copies and multipart completions with early
// headers, so this only cuts off a hung server.
var ResponseHeaderTimeout = 2 * time.Minute

// S3Config says where an S3 store keeps its objects and how it talks to S3.
type S3Config struct {
	Bucket string
	// Prefix is prepended to every key ("" or a path ending in '/').
	Prefix string
	// Region, or "" for the AWS default chain (AWS_REGION, shared config).
	Region string
	// Endpoint is the base URL of an S3-compatible server ("" for AWS).
	Endpoint string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// instead of the host name (bucket.endpoint/key).
	PathStyle bool
	// SSE is the server-side encryption: "", "AES256" or "aws:kms".
	SSE string
	// KMSKeyID is the KMS key for SSE "aws:kms" ("" for the account's
	// default key).
	KMSKeyID string
	// MaxAttempts bounds the attempts of one request; 0 means
	// DefaultS3MaxAttempts.
	MaxAttempts int
	// PartSize is the multipart threshold and part size; 0 means
	// DefaultS3PartSize.
	PartSize int64
}

// S3 is a Store in an S3 bucket (AWS or any S3-compatible server). Each
// object records the sha256 of its bytes in its metadata (x-amz-meta-sha256)
// and is uploaded with a SHA256 checksum the server verifies, so a corrupted
// upload is rejected. Writes are conditional (If-None-Match, If-Match), so
// two writers cannot silently overwrite each other. Bodies of PartSize or
// more go up in parts, and a failed multipart upload is aborted; an
// unfinished upload is never visible as an object.
type S3 struct {
	cfg      S3Config
	client   *s3.Client
	presign  *s3.PresignClient
	uploader *manager.Uploader
}

var _ Store = (*S3)(nil)

// s3Params are the query parameters of an s3:// URL.
var s3Params = []string{"endpoint", "region", "path_style", "sse", "kms_key_id", "max_attempts", "part_size"}

// ParseS3URL reads an S3Config from
// s3://bucket/prefix?region=&endpoint=&path_style=&sse=&kms_key_id=&max_attempts=&part_size=.
func ParseS3URL(rawURL string) (S3Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return S3Config{}, fmt.Errorf("parse s3 url: %w", err)
	}
	return parseS3URL(u)
}

func parseS3URL(u *url.URL) (S3Config, error) {
	var c S3Config
	if u.Scheme != "s3" {
		return c, fmt.Errorf("s3 url: scheme %q: expected s3://bucket/prefix", u.Scheme)
	}
	if u.User != nil {
		return c, errors.New("s3 url: credentials in the url are not accepted: use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role")
	}
	c.Bucket = u.Host
	if c.Bucket == "" {
		return c, errors.New("s3 url: no bucket: expected s3://bucket/prefix")
	}
	c.Prefix = strings.TrimPrefix(u.Path, "/")
	if c.Prefix != "" {
		c.Prefix = strings.TrimSuffix(c.Prefix, "/") + "/"
		if err := validatePrefix(c.Prefix); err != nil {
			return c, fmt.Errorf("s3 url: %w", err)
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("s3 url: query: %w", err)
	}
	for name, vals := range q {
		if !slices.Contains(s3Params, name) {
			return c, fmt.Errorf("s3 url: unknown parameter %q: expected one of %s", name, strings.Join(s3Params, ", "))
		}
		if len(vals) != 1 {
			return c, fmt.Errorf("s3 url: parameter %q given %d times: expected once", name, len(vals))
		}
	}
	c.Region = q.Get("region")
	if e := q.Get("endpoint"); e != "" {
		eu, err := url.Parse(e)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return c, fmt.Errorf("s3 url: endpoint %q: expected http(s)://host[:port]", e)
		}
		c.Endpoint = e
	}
	if v := q.Get("path_style"); v != "" {
		c.PathStyle, err = strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("s3 url: path_style %q: expected true or false", v)
		}
	}
	c.SSE = q.Get("sse")
	c.KMSKeyID = q.Get("kms_key_id")
	if v := q.Get("max_attempts"); v != "" {
		c.MaxAttempts, err = strconv.Atoi(v)
		if err != nil || c.MaxAttempts < 1 {
			return c, fmt.Errorf("s3 url: max_attempts %q: expected a whole number from 1 to 20", v)
		}
	}
	if v := q.Get("part_size"); v != "" {
		c.PartSize, err = strconv.ParseInt(v, 10, 64)
		if err != nil || c.PartSize < 1 {
			return c, fmt.Errorf("s3 url: part_size %q: expected bytes, at least %d", v, MinS3PartSize)
		}
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("s3 url: %w", err)
	}
	return c, nil
}

func (c *S3Config) validate() error {
	switch c.SSE {
	case "", string(types.ServerSideEncryptionAes256), string(types.ServerSideEncryptionAwsKms):
	default:
		return fmt.Errorf("sse %q: expected AES256 or aws:kms", c.SSE)
	}
	if c.KMSKeyID != "" && c.SSE != string(types.ServerSideEncryptionAwsKms) {
		return fmt.Errorf("kms_key_id needs sse=aws:kms")
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultS3MaxAttempts
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 20 {
		return fmt.Errorf("max_attempts %d: expected a whole number from 1 to 20", c.MaxAttempts)
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultS3PartSize
	}
	if c.PartSize < MinS3PartSize {
		return fmt.Errorf("part_size %d: expected bytes, at least %d", c.PartSize, MinS3PartSize)
	}
	return nil
}

func openS3URL(ctx context.Context, u *url.URL) (Store, error) {
	c, err := parseS3URL(u)
	if err != nil {
		return nil, err
	}
	return OpenS3(ctx, c)
}

// OpenS3 opens an S3 store. Credentials come from the AWS default chain.
// It does not contact the server.
func OpenS3(ctx context.Context, c S3Config) (*S3, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("open s3 store: %w", err)
	}
	if c.Bucket == "" {
		return nil, errors.New("open s3 store: no bucket")
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.MaxAttempts
				// A nightly batch must not fail fast because earlier
				// requests used up a client-side retry budget.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	// A server that takes the request and never answers is given up on
	// (and the request retried) even when the caller set no deadline.
	opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = ResponseHeaderTimeout
	})))
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("open s3 store: load aws config: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("open s3 store: no region: add ?region= to the url or set AWS_REGION")
	}
	c.Region = awsCfg.Region
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		// read verifies the whole body against the recorded sha256.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &S3{
		cfg:     c,
		client:  client,
		presign: s3.NewPresignClient(client),
		uploader: manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = c.PartSize
			u.Concurrency = 4
		}),
	}, nil
}

// Config returns the store's configuration, defaults filled in.
func (s *S3) Config() S3Config { return s.cfg }

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, body []byte, opts PutOptions) (PutResult, error) {
	return put(ctx, s, key, body, opts)
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) ([]byte, Object, error) { return get(ctx, s, key) }

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) { return stat(ctx, s, key) }

// List implements Store. It pages through ListObjectsV2 (1,000 keys a
// page).
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.cfg.Bucket),
		Prefix: aws.String(s.cfg.Prefix + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, s.wrap(err))
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), s.cfg.Prefix)
			if !listable(prefix, key) {
				continue
			}
			out = append(out, Object{Key: key, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified).UTC()})
		}
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// MarkProcessed implements Store with a server-side copy, then a delete.
// Objects over 5 GiB cannot be copied in one request and fail.
func (s *S3) MarkProcessed(ctx context.Context, key string) (string, error) {
	return markProcessed(ctx, s, key)
}

// URL implements Store: a presigned GET valid for ttl (at most 7 days).
func (s *S3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := validateKey(key, true); err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	if ttl <= 0 || ttl > 7*24*time.Hour {
		return "", fmt.Errorf("url %s: ttl %s: expected more than 0 and at most 7 days", key, ttl)
	}
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + key),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("url %s: %w", key, s.wrap(err))
	}
	return req.URL, nil
}

// Close implements Store.
func (s *S3) Close() error { return nil }

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validateKey(key, false); err != nil {
		return err
	}
	if err := s.remove(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

func (s *S3) describe(key string, size *int64, mod *time.Time, ct *string, meta map[string]string) Object {
	obj := Object{Key: key, Size: aws.ToInt64(size), ModTime: aws.ToTime(mod).UTC(), ContentType: aws.ToString(ct)}
	if obj.ContentType == "" {
		obj.ContentType = defaultContentType
	}
	for k, v := range meta {
		k = strings.ToLower(k)
		if k == metaSHA256 {
			obj.SHA256 = v
			continue
		}
		if obj.Metadata == nil {
			obj.Metadata = map[string]string{}
		}
		obj.Metadata[k] = v
	}
	return obj
}

func (s *S3) stat(ctx context.Context, key string) (Object, error) {
	obj, _, err := s.statEtag(ctx, key)
	return obj, err
}

func (s *S3) statEtag(ctx context.Context, key string) (Object, string, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + key),
	})
	if err != nil {
		return Object{}, "", s.wrap(err)
	}
	return s.describe(key, out.ContentLength, out.LastModified, out.ContentType, out.Metadata), aws.ToString(out.ETag), nil
}

// Open implements Opener.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validateKey(key, true); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + key),
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, s.wrap(err))
	}
	return out.Body, nil
}

func (s *S3) read(ctx context.Context, key string) ([]byte, Object, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + key),
	})
	if err != nil {
		return nil, Object{}, s.wrap(err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, Object{}, fmt.Errorf("read body: %w", s.wrap(err))
	}
	obj := s.describe(key, out.ContentLength, out.LastModified, out.ContentType, out.Metadata)
	got := sum256(body)
	if obj.SHA256 != "" && obj.SHA256 != got {
		return nil, Object{}, fmt.Errorf("bytes do not match their recorded sha256 (recorded %s, read %s)", short(obj.SHA256), short(got))
	}
	obj.SHA256 = got
	return body, obj, nil
}

func (s *S3) write(ctx context.Context, key string, body []byte, sha string, opts PutOptions, cond condition) error {
	meta := maps.Clone(opts.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[metaSHA256] = sha
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.cfg.Bucket),
		Key:           aws.String(s.cfg.Prefix + key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(opts.ContentType),
		Metadata:      meta,
	}
	s.encrypt(&in.ServerSideEncryption, &in.SSEKMSKeyId)
	if cond.absent {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(cond.etag)
	}
	var err error
	if int64(len(body)) < s.cfg.PartSize {
		raw, _ := hex.DecodeString(sha)
		err = s.putObject(ctx, in, base64.StdEncoding.EncodeToString(raw))
	} else {
		// Each part carries its own SHA256 checksum; the uploader aborts
		// the multipart upload when a part or the completion fails.
		in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256
		_, err = s.uploader.Upload(ctx, in)
	}
	if err != nil {
		err = s.wrap(err)
		if !cond.absent && errors.Is(err, ErrNotFound) {
			// If-Match on a key deleted meanwhile.
			return errPrecondition
		}
		return err
	}
	return nil
}

// putObject uploads in in one request with checksum, the base64 SHA256 the
// server must find in the body.
func (s *S3) putObject(ctx context.Context, in *s3.PutObjectInput, checksum string) error {
	in.ChecksumSHA256 = aws.String(checksum)
	_, err := s.client.PutObject(ctx, in)
	return err
}

func (s *S3) copy(ctx context.Context, src, dst string) error {
	// Not every server honours If-None-Match on a copy (versitygw does
	// not), so look first; the copy is still conditional where it is.
	if _, err := s.stat(ctx, dst); err == nil {
		return errPrecondition
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	in := &s3.CopyObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + dst),
		// CopySource is bucket/key with the key URL-encoded.
		CopySource:  aws.String(s.cfg.Bucket + "/" + url.PathEscape(s.cfg.Prefix+src)),
		IfNoneMatch: aws.String("*"),
	}
	s.encrypt(&in.ServerSideEncryption, &in.SSEKMSKeyId)
	_, err := s.client.CopyObject(ctx, in)
	return s.wrap(err)
}

func (s *S3) remove(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(s.cfg.Prefix + key),
	})
	return s.wrap(err)
}

func (s *S3) encrypt(sse *types.ServerSideEncryption, kms **string) {
	if s.cfg.SSE == "" {
		return
	}
	*sse = types.ServerSideEncryption(s.cfg.SSE)
	if s.cfg.KMSKeyID != "" {
		*kms = aws.String(s.cfg.KMSKeyID)
	}
}

// wrap turns an S3 error into one a person can act on, keeping the
// original in the chain.
func (s *S3) wrap(err error) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return ErrNotFound
		case "PreconditionFailed", "ConditionalRequestConflict":
			return errPrecondition
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "XAdminUserNotFound", "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
			return fmt.Errorf("%w: s3 refused the credentials (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the profile or the role: %w", ErrAccessDenied, api.ErrorCode(), err)
		case "AccessDenied", "AllAccessDisabled":
			return fmt.Errorf("%w: the credentials lack permission on bucket %s (%s): %w", ErrAccessDenied, s.cfg.Bucket, api.ErrorCode(), err)
		case "NoSuchBucket":
			return fmt.Errorf("bucket %s does not exist: %w", s.cfg.Bucket, err)
		case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest":
			return fmt.Errorf("s3 rejected the upload as corrupted (%s): %w", api.ErrorCode(), err)
		}
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusForbidden {
		// A HEAD answer has no body, so no error code tells a wrong key
		// from a missing permission.
		return fmt.Errorf("%w: s3 refused the credentials or their permission on bucket %s (HTTP 403): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the profile or the role: %w", ErrAccessDenied, s.cfg.Bucket, err)
	}
	var maxErr *retry.MaxAttemptsError
	if errors.As(err, &maxErr) {
		return fmt.Errorf("s3 at %s failed after %d attempts: %w", s.where(), maxErr.Attempt, err)
	}
	return err
}

func (s *S3) where() string {
	if s.cfg.Endpoint != "" {
		return s.cfg.Endpoint
	}
	return "AWS " + s.cfg.Region
}
