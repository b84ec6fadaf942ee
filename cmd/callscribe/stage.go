package main

import (
	"context"
	"log/slog"

	"callscribe/pipeline"
	"callscribe/storage/memory"
	"callscribe/storage/s3"
)

// newStage returns where calls stage their audio: the object store when
// CALLSCRIBE_S3_ENDPOINT is set, readied and checked at once (EnsureBucket), otherwise
// this process's memory.
func newStage(ctx context.Context, cfg Config, log *slog.Logger) (pipeline.Stage, error) {
	if cfg.S3.Endpoint == "" {
		return memory.New(cfg.MaxCallBytes + cfg.MaxCallBytes/8), nil // room for the encryption overhead
	}
	st, err := newS3Stage(cfg)
	if err != nil {
		return nil, err
	}
	warnings, err := st.EnsureBucket(ctx, cfg.S3.TTL)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.WarnContext(ctx, w)
	}
	return st, nil
}

// newS3Stage is the object-store stage of cfg, without talking to the server.
func newS3Stage(cfg Config) (*s3.Stage, error) {
	return s3.New(s3.Options{
		Endpoint: cfg.S3.Endpoint, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
		Bucket: cfg.S3.Bucket, Secure: cfg.S3.Secure, Region: cfg.S3.Region,
	})
}
