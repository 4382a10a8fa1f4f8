// Package node wires a Parley node: its configuration and data directory,
// member authentication, default-deny access control, the submission
// pipeline (STIX 2.1 validation, object signatures, the log entry) and the
// HTTP server that serves TAXII 2.1 (OASIS TAXII Version 2.1) over the
// store.
//
// # Data directory
//
//	DIR/config.json  the [Config] (written by [Init], edited by operators)
//	DIR/node.key     the log's note signer key (golang.org/x/mod/sumdb/note), mode 0600
//	DIR/node.pub     the matching note verifier key, the value members pin
//	DIR/parley.db    the SQLite store (with its -wal and -shm files)
//
// # Extending the server
//
// Other parts of Parley add HTTP routes and background workers from init
// functions in their own files of this package, with [registerRoutes] and
// [registerWorker]; see [Node.Handler] and [Node.Serve].
package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Config is the node's configuration and its reference: every field is
// read from DIR/config.json, and a zero (or absent) field takes the
// default written beside it.
type Config struct {
	// Listen is the TCP address the server listens on. Default
	// "127.0.0.1:8080"; `parley serve --listen` overrides it.
	Listen string `json:"listen,omitempty"`
	// PublicURL is the scheme and host clients use to reach the node
	// ("https://parley.example"), used in TAXII discovery. Default: from
	// each request's Host.
	PublicURL string `json:"public_url,omitempty"`
	// Title is the node's name in TAXII discovery. Default "Parley".
	Title string `json:"title,omitempty"`
	// Origin is the log's origin line in checkpoints and the name of the
	// node key; set once by [Init] and never changed.
	Origin string `json:"origin"`

	// MaxContentLength is the largest request body in bytes (413 beyond).
	// Default 10 MiB.
	MaxContentLength int64 `json:"max_content_length,omitempty"`
	// MaxObjectsPerRequest is the most objects in one TAXII envelope (413
	// beyond). Default 10,000.
	MaxObjectsPerRequest int `json:"max_objects_per_request,omitempty"`
	// MaxJSONDepth is the deepest JSON nesting accepted in a request
	// (400 beyond). Default 64.
	MaxJSONDepth int `json:"max_json_depth,omitempty"`
	// DefaultPageSize and MaxPageSize bound TAXII pages. Defaults 100 and
	// 1,000.
	DefaultPageSize int `json:"default_page_size,omitempty"`
	MaxPageSize     int `json:"max_page_size,omitempty"`

	// ReadHeaderTimeout bounds how long a client may take to send request
	// headers. Default 10s.
	ReadHeaderTimeout Duration `json:"read_header_timeout,omitempty"`
	// IdleTimeout closes idle keep-alive connections. Default 2m.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// ShutdownTimeout is how long a graceful shutdown waits for requests
	// in flight before closing connections. Default 10s.
	ShutdownTimeout Duration `json:"shutdown_timeout,omitempty"`
	// FeedCheckInterval is how often a serving node looks for TAXII feeds
	// that are due (each feed has its own interval, parley feed add
	// --every). Default 10s.
	FeedCheckInterval Duration `json:"feed_check_interval,omitempty"`
}

// Duration is a time.Duration written as text ("10s", "2m") in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Defaults of [Config].
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
)

// withDefaults returns c with zero fields set to their defaults (the TAXII
// limits are defaulted by the taxii package).
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Title == "" {
		c.Title = "Parley"
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = Duration(DefaultReadHeaderTimeout)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	if c.FeedCheckInterval <= 0 {
		c.FeedCheckInterval = Duration(10 * time.Second)
	}
	return c
}

// Files of the data directory.
const (
	ConfigFile  = "config.json"
	KeyFile     = "node.key"
	PubKeyFile  = "node.pub"
	StoreFile   = "parley.db"
	dirMode     = 0o700
	secretMode  = 0o600
	publicMode  = 0o644
	maxConfigSz = 1 << 20
)

// ErrNotInitialized means the data directory has no node (run `parley init`).
var ErrNotInitialized = errors.New("data directory is not initialized")

// ErrExists means Init found a node already in the data directory.
var ErrExists = errors.New("data directory already holds a node")

// LoadConfig reads DIR/config.json.
func LoadConfig(dir string) (Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("couldn't read %s: %w", filepath.Join(dir, ConfigFile), ErrNotInitialized)
	}
	if err != nil {
		return Config{}, fmt.Errorf("couldn't read the configuration: %w", err)
	}
	if len(b) > maxConfigSz {
		return Config{}, fmt.Errorf("couldn't read %s: larger than %d bytes", ConfigFile, maxConfigSz)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("couldn't parse %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if c.Origin == "" {
		return Config{}, fmt.Errorf("couldn't use %s: origin is empty", filepath.Join(dir, ConfigFile))
	}
	return c, nil
}

// writeFileSync writes a new file and syncs it, so that Init leaves either
// nothing or a complete file behind a crash.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
