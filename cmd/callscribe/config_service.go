package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callscribe/pipeline"
	"callscribe/web"
)

// ServiceConfig is what `serve` and `worker` read beyond Config.
type ServiceConfig struct {
	HTTPAddr        string        // CALLSCRIBE_HTTP_ADDR
	MaxCallDuration time.Duration // CALLSCRIBE_MAX_CALL_DURATION: 0 is no limit
	Workers         int           // CALLSCRIBE_WORKERS: calls transcribed at once
	JobTimeout      time.Duration // CALLSCRIBE_JOB_TIMEOUT: one attempt at a call
	JobRescueAfter  time.Duration // CALLSCRIBE_JOB_RESCUE_AFTER: a running job older than this is presumed dead
	JobMaxAttempts  int           // CALLSCRIBE_JOB_MAX_ATTEMPTS
	ServeWorker     bool          // CALLSCRIBE_SERVE_WORKER: serve also runs the worker
	ShutdownTimeout time.Duration // CALLSCRIBE_SHUTDOWN_TIMEOUT: how long SIGTERM waits for uploads and calls in flight
	ObjectStore     bool          // CALLSCRIBE_S3_ENDPOINT is set: staged audio is shared between processes
	SweepEvery      time.Duration // CALLSCRIBE_SWEEP_EVERY: time between the sweeper's passes over the object store
	SweepGrace      time.Duration // CALLSCRIBE_SWEEP_GRACE: an object no call claims is left this long
	CPUProfile      string        // CALLSCRIBE_CPU_PROFILE: serve writes a CPU profile here until it stops; empty (the default): off
	// CALLSCRIBE_UPLOAD_IDLE_TIMEOUT: a request body that sends nothing this long is dropped
	UploadIdleTimeout time.Duration
}

const (
	defaultHTTPAddr        = "127.0.0.1:8080"
	defaultMaxCallDuration = 4 * time.Hour
	defaultWorkers         = 2
	defaultJobTimeout      = 10 * time.Minute
	defaultJobRescueAfter  = 15 * time.Minute
	defaultJobMaxAttempts  = 5
	defaultShutdownTimeout = 30 * time.Second
)

// LoadServiceConfig reads and validates the service's variables, naming the one at fault.
func LoadServiceConfig(getenv func(string) string) (ServiceConfig, error) {
	c := ServiceConfig{
		HTTPAddr:        defaultHTTPAddr,
		MaxCallDuration: defaultMaxCallDuration,
		Workers:         defaultWorkers,
		JobTimeout:      defaultJobTimeout,
		JobRescueAfter:  defaultJobRescueAfter,
		JobMaxAttempts:  defaultJobMaxAttempts,
		ServeWorker:     true,
		ShutdownTimeout: defaultShutdownTimeout,
		ObjectStore:     strings.TrimSpace(getenv("CALLSCRIBE_S3_ENDPOINT")) != "",
		SweepEvery:      pipeline.DefaultSweepEvery,
		SweepGrace:      pipeline.DefaultSweepGrace,
	}
	c.UploadIdleTimeout = web.DefaultUploadIdleTimeout
	if v := strings.TrimSpace(getenv("CALLSCRIBE_HTTP_ADDR")); v != "" {
		c.HTTPAddr = v
	}
	c.CPUProfile = strings.TrimSpace(getenv("CALLSCRIBE_CPU_PROFILE"))
	durations := []struct {
		name     string
		dst      *time.Duration
		zeroOK   bool
		positive string
	}{
		{"CALLSCRIBE_MAX_CALL_DURATION", &c.MaxCallDuration, true, "a duration such as 2h (0: no limit)"},
		{"CALLSCRIBE_JOB_TIMEOUT", &c.JobTimeout, false, "a positive duration such as 10m"},
		{"CALLSCRIBE_JOB_RESCUE_AFTER", &c.JobRescueAfter, false, "a positive duration such as 15m"},
		{"CALLSCRIBE_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, false, "a positive duration such as 30s"},
		{"CALLSCRIBE_SWEEP_EVERY", &c.SweepEvery, false, "a positive duration such as 5m"},
		{"CALLSCRIBE_SWEEP_GRACE", &c.SweepGrace, false, "a positive duration such as 10m"},
		{"CALLSCRIBE_UPLOAD_IDLE_TIMEOUT", &c.UploadIdleTimeout, false, "a positive duration such as 30s"},
	}
	for _, d := range durations {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		p, err := time.ParseDuration(v)
		if err != nil || p < 0 || (p == 0 && !d.zeroOK) {
			return c, fmt.Errorf("%s: %q is not %s", d.name, v, d.positive)
		}
		*d.dst = p
	}
	ints := []struct {
		name string
		dst  *int
		max  int
	}{
		{"CALLSCRIBE_WORKERS", &c.Workers, 256},
		{"CALLSCRIBE_JOB_MAX_ATTEMPTS", &c.JobMaxAttempts, 100},
	}
	for _, n := range ints {
		v := getenv(n.name)
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 1 || i > n.max {
			return c, fmt.Errorf("%s: %q is not a whole number from 1 to %d", n.name, v, n.max)
		}
		*n.dst = i
	}
	if v := getenv("CALLSCRIBE_SERVE_WORKER"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("CALLSCRIBE_SERVE_WORKER: %q is not true or false", v)
		}
		c.ServeWorker = b
	}
	if c.JobRescueAfter <= c.JobTimeout {
		return c, fmt.Errorf("CALLSCRIBE_JOB_RESCUE_AFTER (%s) must exceed CALLSCRIBE_JOB_TIMEOUT (%s): a job still within its timeout must not be rescued as stuck", c.JobRescueAfter, c.JobTimeout)
	}
	if !c.ServeWorker && !c.ObjectStore {
		return c, fmt.Errorf("CALLSCRIBE_SERVE_WORKER=false needs CALLSCRIBE_S3_ENDPOINT: with the memory stage the staged audio lives in the serve process, so only its own worker can read it")
	}
	return c, nil
}
