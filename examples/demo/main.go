// Command demo runs lb in front of two demo backends on loopback, shows a
// few requests being balanced between them, and keeps running until Ctrl-C
// so you can try it yourself (curl http://127.0.0.1:8080/).
//
//	go run ./examples/demo [-port 8080] [-backends 9001,9002]
//
// It needs nothing but Go: the backends are tiny HTTP servers started here,
// and lb is built from this checkout (into a private temporary directory,
// removed at the end) and run on examples/demo.toml, with the ports the
// flags give.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := demo(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func demo() error {
	port := flag.Int("port", 8080, "the port lb listens on (127.0.0.1)")
	backends := flag.String("backends", "9001,9002", "the two demo backends' ports (127.0.0.1)")
	flag.Parse()
	bports := strings.Split(*backends, ",")
	if len(bports) != 2 {
		return fmt.Errorf("-backends wants two ports, got %q", *backends)
	}
	front := fmt.Sprintf("127.0.0.1:%d", *port)
	root, err := repoRoot()
	if err != nil {
		return err
	}
	for i, p := range bports {
		addr := "127.0.0.1:" + strings.TrimSpace(p)
		name := fmt.Sprintf("demo-%d", i+1)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("backend %s: %w", name, err)
		}
		go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s (you asked for %s)\n", name, r.URL.Path)
		}))
	}

	tmp, err := os.MkdirTemp("", "lb-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "lb")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lb")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building lb: %w", err)
	}
	cfg, err := os.ReadFile(filepath.Join(root, "examples", "demo.toml"))
	if err != nil {
		return err
	}
	toml := strings.NewReplacer("127.0.0.1:8080", front,
		"127.0.0.1:9001", "127.0.0.1:"+strings.TrimSpace(bports[0]),
		"127.0.0.1:9002", "127.0.0.1:"+strings.TrimSpace(bports[1])).Replace(string(cfg))
	cfgPath := filepath.Join(tmp, "demo.toml")
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		return err
	}
	lb := exec.Command(bin, "-f", cfgPath)
	lb.Stdout, lb.Stderr = os.Stdout, os.Stderr
	if err := lb.Start(); err != nil {
		return err
	}
	defer lb.Process.Signal(syscall.SIGTERM)

	// Wait for lb to listen, then show the balancing.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", front); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("lb did not start listening on %s", front)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("\n== six requests through lb (%s), round robin over two backends:\n", front)
	for i := 0; i < 6; i++ {
		resp, err := client.Get(fmt.Sprintf("http://%s/request-%d", front, i+1))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("   request %d -> %s", i+1, b)
	}
	fmt.Printf("== lb keeps running: try `curl http://%s/`; Ctrl-C stops it.\n", front)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { lb.Wait(); sig <- syscall.SIGCHLD }()
	<-sig
	return nil
}

// repoRoot finds the checkout's root (the directory holding go.mod).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/lb-proxy/lb") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run the demo from inside the lb checkout")
		}
		dir = parent
	}
}
