// Package config owns lb's configuration schema: strict TOML decoding,
// defaults (applied in one place), and validation that reports every
// problem at once with its key path and line.
//
// Load reads files (or a directory of *.toml files) and Parse reads bytes;
// both return a *Config that is decoded, defaulted and valid, or an *Error
// listing every Problem, one per line in the format `lb -c` prints:
//
//	backend.app.server[1].address: invalid address "10.0.0.x": missing port (line 23)
//
// The user-facing reference of every key and default is docs/config.md.
//
// It must not open sockets, start goroutines or know about the running
// process: a *Config is a plain immutable value handed to the other
// packages.
package config
