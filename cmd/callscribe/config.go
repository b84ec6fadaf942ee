package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"callscribe"
	"callscribe/privacy"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Config is everything callscribe reads from its environment. Every variable has a named
// default; secrets also accept VAR_FILE, a path to a file holding the value.
type Config struct {
	DatabaseURL   string // CALLSCRIBE_DATABASE_URL; empty: the embedded cluster in DataDir
	DataDir       string // CALLSCRIBE_DATA_DIR
	ASR           string // CALLSCRIBE_ASR: sphinx | openai
	SphinxModel   string // CALLSCRIBE_SPHINX_MODEL_DIR; empty: the Debian package's model
	OpenAIBaseURL string // CALLSCRIBE_OPENAI_BASE_URL
	OpenAIAPIKey  string // CALLSCRIBE_OPENAI_API_KEY
	ASRModel      string // CALLSCRIBE_ASR_MODEL
	Summary       string // CALLSCRIBE_SUMMARY: extractive | openai | off
	SummaryModel  string // CALLSCRIBE_SUMMARY_MODEL: required with CALLSCRIBE_SUMMARY=openai
	PolicyVersion string // CALLSCRIBE_POLICY_VERSION: recorded with every consent grant
	CalendarFile  string // CALLSCRIBE_CALENDAR_FILE: business days; empty: the embedded Russian calendar
	MaxCallBytes  int64  // CALLSCRIBE_MAX_CALL_BYTES: largest call accepted
	ConsentPoll   time.Duration
	LogLevel      string // CALLSCRIBE_LOG_LEVEL: debug | info | warn | error
	S3            S3Config
	Egress        Egress // processors' countries and outgoing-request rules (egress.go)
	// LedgerKey keys the erasure ledger's hashes (CALLSCRIBE_LEDGER_KEY, at least 32
	// bytes). Empty: the embedded default generates one into DataDir/ledger.key.
	LedgerKey      string
	LedgerFile     string        // CALLSCRIBE_LEDGER_FILE: the ledger's copy outside the database
	RetentionEvery time.Duration // CALLSCRIBE_RETENTION_EVERY: period of the retention job in serve
}

// S3Config is the object store that stages audio; unset Endpoint: the memory stage.
type S3Config struct {
	Endpoint  string        // CALLSCRIBE_S3_ENDPOINT: host:port, no scheme
	AccessKey string        // CALLSCRIBE_S3_ACCESS_KEY
	SecretKey string        // CALLSCRIBE_S3_SECRET_KEY
	Bucket    string        // CALLSCRIBE_S3_BUCKET
	Secure    bool          // CALLSCRIBE_S3_SECURE: HTTPS
	TTL       time.Duration // CALLSCRIBE_S3_TTL: the bucket lifecycle's expiry, the last backstop
	Region    string        // CALLSCRIBE_S3_REGION
}

const (
	defaultASR            = "sphinx"
	defaultASRModel       = "whisper-1"
	defaultSummary        = "extractive"
	defaultPolicyVersion  = "1"
	defaultMaxCallBytes   = 1 << 30
	defaultConsentPoll    = time.Second
	defaultLogLevel       = "warn"
	defaultS3Bucket       = "callscribe-staging"
	defaultS3TTL          = 24 * time.Hour
	defaultLedgerFile     = "erasure-ledger.jsonl" // in the data dir
	defaultRetentionEvery = time.Hour
)

// LoadConfig reads the environment and validates it, naming the variable at fault.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		ASR:            defaultASR,
		ASRModel:       defaultASRModel,
		Summary:        defaultSummary,
		PolicyVersion:  defaultPolicyVersion,
		MaxCallBytes:   defaultMaxCallBytes,
		ConsentPoll:    defaultConsentPoll,
		LogLevel:       defaultLogLevel,
		S3:             S3Config{Bucket: defaultS3Bucket, TTL: defaultS3TTL},
		RetentionEvery: defaultRetentionEvery,
	}
	var err error
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	secret := func(name string, dst *string) {
		str(name, dst)
		if path := getenv(name + "_FILE"); path != "" && err == nil {
			b, rerr := os.ReadFile(path)
			if rerr != nil {
				err = fmt.Errorf("%s_FILE: %w", name, rerr)
				return
			}
			*dst = strings.TrimSpace(string(b))
		}
	}
	secret("CALLSCRIBE_DATABASE_URL", &c.DatabaseURL)
	str("CALLSCRIBE_DATA_DIR", &c.DataDir)
	str("CALLSCRIBE_ASR", &c.ASR)
	str("CALLSCRIBE_SPHINX_MODEL_DIR", &c.SphinxModel)
	str("CALLSCRIBE_OPENAI_BASE_URL", &c.OpenAIBaseURL)
	secret("CALLSCRIBE_OPENAI_API_KEY", &c.OpenAIAPIKey)
	str("CALLSCRIBE_ASR_MODEL", &c.ASRModel)
	str("CALLSCRIBE_SUMMARY", &c.Summary)
	str("CALLSCRIBE_SUMMARY_MODEL", &c.SummaryModel)
	str("CALLSCRIBE_POLICY_VERSION", &c.PolicyVersion)
	str("CALLSCRIBE_CALENDAR_FILE", &c.CalendarFile)
	str("CALLSCRIBE_LOG_LEVEL", &c.LogLevel)
	str("CALLSCRIBE_S3_ENDPOINT", &c.S3.Endpoint)
	secret("CALLSCRIBE_S3_ACCESS_KEY", &c.S3.AccessKey)
	secret("CALLSCRIBE_S3_SECRET_KEY", &c.S3.SecretKey)
	str("CALLSCRIBE_S3_BUCKET", &c.S3.Bucket)
	str("CALLSCRIBE_S3_REGION", &c.S3.Region)
	secret("CALLSCRIBE_LEDGER_KEY", &c.LedgerKey)
	str("CALLSCRIBE_LEDGER_FILE", &c.LedgerFile)
	if err != nil {
		return c, err
	}
	if err := loadS3(getenv, &c.S3); err != nil {
		return c, err
	}
	if v := getenv("CALLSCRIBE_MAX_CALL_BYTES"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n <= 0 {
			return c, fmt.Errorf("CALLSCRIBE_MAX_CALL_BYTES: %q is not a positive number of bytes", v)
		}
		c.MaxCallBytes = n
	}
	if v := getenv("CALLSCRIBE_CONSENT_POLL"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 {
			return c, fmt.Errorf("CALLSCRIBE_CONSENT_POLL: %q is not a positive duration such as 1s", v)
		}
		c.ConsentPoll = d
	}
	if c.LedgerKey != "" && len(c.LedgerKey) < 32 {
		return c, fmt.Errorf("CALLSCRIBE_LEDGER_KEY: %d bytes is too short; use at least 32 (e.g. openssl rand -hex 32)", len(c.LedgerKey))
	}
	if v := getenv("CALLSCRIBE_RETENTION_EVERY"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 {
			return c, fmt.Errorf("CALLSCRIBE_RETENTION_EVERY: %q is not a positive duration such as 1h", v)
		}
		c.RetentionEvery = d
	}
	if c.DataDir == "" {
		home, herr := os.UserHomeDir()
		if herr != nil {
			return c, fmt.Errorf("CALLSCRIBE_DATA_DIR is unset and the home directory is unknown: %w", herr)
		}
		c.DataDir = filepath.Join(home, ".local", "share", "callscribe")
	}
	if c.LedgerFile == "" {
		c.LedgerFile = filepath.Join(c.DataDir, defaultLedgerFile)
	}
	switch c.ASR {
	case "sphinx":
	case "openai":
		if c.OpenAIBaseURL == "" {
			return c, fmt.Errorf("CALLSCRIBE_ASR=openai needs CALLSCRIBE_OPENAI_BASE_URL (an in-country OpenAI-compatible server)")
		}
	default:
		return c, fmt.Errorf("CALLSCRIBE_ASR: %q is not one of sphinx, openai", c.ASR)
	}
	switch c.Summary {
	case "extractive", "off":
	case "openai":
		if c.OpenAIBaseURL == "" {
			return c, fmt.Errorf("CALLSCRIBE_SUMMARY=openai needs CALLSCRIBE_OPENAI_BASE_URL (an in-country OpenAI-compatible server)")
		}
		if c.SummaryModel == "" {
			return c, fmt.Errorf("CALLSCRIBE_SUMMARY=openai needs CALLSCRIBE_SUMMARY_MODEL, the chat model's name on that server")
		}
	default:
		return c, fmt.Errorf("CALLSCRIBE_SUMMARY: %q is not one of extractive, openai, off", c.Summary)
	}
	if c.CalendarFile != "" {
		if _, cerr := privacy.LoadCalendar(c.CalendarFile); cerr != nil {
			return c, fmt.Errorf("CALLSCRIBE_CALENDAR_FILE: %s", callscribe.ErrorMessage(cerr))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, fmt.Errorf("CALLSCRIBE_LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if err := loadEgress(getenv, &c); err != nil {
		return c, err
	}
	return c, nil
}

// loadS3 reads and checks the object store's settings beyond the plain strings.
func loadS3(getenv func(string) string, c *S3Config) error {
	if v := getenv("CALLSCRIBE_S3_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("CALLSCRIBE_S3_SECURE: %q is not true or false", v)
		}
		c.Secure = b
	}
	if v := getenv("CALLSCRIBE_S3_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("CALLSCRIBE_S3_TTL: %q is not a positive duration such as 24h", v)
		}
		c.TTL = d
	}
	if c.Endpoint == "" {
		if c.AccessKey != "" || c.SecretKey != "" {
			return fmt.Errorf("CALLSCRIBE_S3_ACCESS_KEY or CALLSCRIBE_S3_SECRET_KEY is set but CALLSCRIBE_S3_ENDPOINT is not: set it, or unset the keys to stage audio in memory")
		}
		return nil
	}
	if strings.Contains(c.Endpoint, "://") || strings.Contains(c.Endpoint, "/") {
		return fmt.Errorf("CALLSCRIBE_S3_ENDPOINT: %q must be host:port, without scheme or path (HTTPS is CALLSCRIBE_S3_SECURE=true)", c.Endpoint)
	}
	if c.AccessKey == "" {
		return fmt.Errorf("CALLSCRIBE_S3_ENDPOINT is set but CALLSCRIBE_S3_ACCESS_KEY (or _FILE) is not")
	}
	if c.SecretKey == "" {
		return fmt.Errorf("CALLSCRIBE_S3_ENDPOINT is set but CALLSCRIBE_S3_SECRET_KEY (or _FILE) is not")
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return fmt.Errorf("CALLSCRIBE_S3_BUCKET: %q is not a valid bucket name: %v", c.Bucket, err)
	}
	return nil
}
