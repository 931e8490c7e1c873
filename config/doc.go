// Package config owns lb's configuration schema: strict TOML decoding,
// defaults (applied in one place), and validation that reports every
// problem at once with its key path and line.
//
// It must not open sockets, start goroutines or know about the running
// process: a *Config is a plain immutable value handed to the other
// packages.
package config
