package main

import (
	"context"
	"log/slog"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/storage/memory"
	"callscribe/storage/s3"
)

// newStage returns where calls stage their audio: the object store when
// CALLSCRIBE_S3_ENDPOINT is set, readied and checked at once (EnsureBucket), otherwise
// this process's memory, bounded to hold calls calls of the largest size (with room for the
// encryption overhead), so that uploads are refused (503 while other calls fill it) rather
// than the process running out of memory.
func newStage(ctx context.Context, cfg config, calls int64, log *slog.Logger) (callscribe.Stage, error) {
	if cfg.s3.endpoint == "" {
		return newMemoryStage(cfg, calls), nil
	}
	st, err := newS3Stage(cfg)
	if err != nil {
		return nil, err
	}
	warnings, err := st.EnsureBucket(ctx, cfg.s3.ttl)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		log.WarnContext(ctx, w)
	}
	return st, nil
}

// newMemoryStage is the memory stage, bounded to hold calls calls of the largest size.
func newMemoryStage(cfg config, calls int64) *memory.Stage {
	return memory.New(calls * (cfg.maxCallBytes + cfg.maxCallBytes/8))
}

// newS3Stage is the object-store stage of cfg, without talking to the server.
func newS3Stage(cfg config) (*s3.Stage, error) {
	return s3.New(s3.Options{
		Endpoint: cfg.s3.endpoint, AccessKey: cfg.s3.accessKey, SecretKey: cfg.s3.secretKey,
		Bucket: cfg.s3.bucket, Secure: cfg.s3.secure, Region: cfg.s3.region,
	})
}

// startSweeper runs the sweeper until ctx ends when the stage is an object store
// (CALLSCRIBE_S3_ENDPOINT): the memory stage dies with its process and has nothing to
// sweep. It passes every scfg.sweepEvery and leaves unclaimed objects younger than
// scfg.sweepGrace.
func startSweeper(ctx context.Context, a *app, scfg serviceConfig) {
	if a.cfg.s3.endpoint == "" {
		return
	}
	st, err := newS3Stage(a.cfg) // the stage's bucket, through a client of the sweeper's own
	if err != nil {
		a.log.ErrorContext(ctx, "the sweeper cannot start", "err", err)
		return
	}
	sw := pipeline.Sweeper{Store: a.db, Stage: st, Logger: a.log, Every: scfg.sweepEvery, Grace: scfg.sweepGrace}
	go sw.Run(ctx) // logs its own failures and keeps going
}
