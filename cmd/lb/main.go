// Command lb is a load-balancing proxy in the lineage of HAProxy.
//
//	lb -f FILE      run with that configuration (foreground)
//	lb -c -f FILE   check the configuration and exit (0 valid, 1 invalid)
//	lb -v           print version and build information
//	lb convert FILE print the lb configuration of an haproxy.cfg (convert.go)
//
// SIGTERM or SIGINT stops gracefully: listeners close, sessions in progress
// finish, and what is left after global.hard_stop_after is closed.
package main

import (
	"flag"
	"fmt"
	"github.com/rs/zerolog"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/lb-proxy/lb/session"
)

func init() {
	// RFC 3339 with milliseconds in every log line (access and service):
	// log pipelines order and join on it.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
}

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGUSR1)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sig, nil))
}

// fileList is a repeatable -f flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// run is the whole program: it parses args, then checks or runs the
// configuration until a stop signal arrives on sig. It returns the exit
// status; only main exits. ready, when not nil, is called once the process
// is listening (tests use it to learn the bound addresses).
func run(args []string, stdout, stderr io.Writer, sig <-chan os.Signal, ready func(*instance)) int {
	return runWith(args, stdout, stderr, sig, ready, runOptions{})
}

// runOptions are what tests may change in a run: nothing a user can set.
type runOptions struct {
	// clock drives every session timeout; nil means the real clock.
	// Timeout tests pass a sessiontest.Clock and advance it by hand.
	clock session.Clock
	// waiting bounds each listener's waiting room; 0 means
	// listener.MaxWaiting (tests make it small).
	waiting int
	// noDialWatch, noDialLook: session.Env.NoDialWatch, NoDialLook.
	noDialWatch, noDialLook bool
}

// runWith is run with test options.
func runWith(args []string, stdout, stderr io.Writer, sig <-chan os.Signal, ready func(*instance), opts runOptions) int {
	if len(args) > 0 && args[0] == "convert" { // lb convert haproxy.cfg: convert.go
		return runConvert(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("lb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		files   fileList
		check   = fs.Bool("c", false, "check the configuration and exit")
		version = fs.Bool("v", false, "print version and build information and exit")
	)
	fs.Var(&files, "f", "configuration `file` or directory (repeatable; directories load *.toml in lexical order)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: lb -f FILE [-c] | lb -v\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	if len(files) == 0 || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *check {
		if _, err := loadConfig(files); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintln(stdout, "configuration is valid")
		return 0
	}
	return serve(files, stdout, stderr, sig, ready, opts)
}

// versionString describes the build: module version, VCS revision, Go.
// version is lb's release; a build may set it with
// -ldflags "-X main.version=1.2.3". The module version stamped by the go
// command (a tag, or a pseudo-version from the VCS) wins when there is one.
var version = "0.4.0-dev"

func versionString() string {
	v, rev := version, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
			v = mv
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("lb %s%s %s %s/%s", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
