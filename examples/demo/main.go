// Command demo runs lb in front of two demo backends on loopback, shows a
// few requests being balanced between them, and keeps running until Ctrl-C
// so you can try it yourself (curl http://127.0.0.1:8080/).
//
//	go run ./examples/demo
//
// It needs nothing but Go: the backends are tiny HTTP servers started here,
// and lb is built from this checkout and run on examples/demo.toml.
package main

import (
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
	root, err := repoRoot()
	if err != nil {
		return err
	}
	for i, addr := range []string{"127.0.0.1:9001", "127.0.0.1:9002"} {
		name := fmt.Sprintf("demo-%d", i+1)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("backend %s: %w", name, err)
		}
		go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s (you asked for %s)\n", name, r.URL.Path)
		}))
	}

	bin := filepath.Join(os.TempDir(), "lb-demo")
	build := exec.Command("go", "build", "-o", bin, "./cmd/lb")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building lb: %w", err)
	}
	lb := exec.Command(bin, "-f", filepath.Join(root, "examples", "demo.toml"))
	lb.Stdout, lb.Stderr = os.Stdout, os.Stderr
	if err := lb.Start(); err != nil {
		return err
	}
	defer lb.Process.Signal(syscall.SIGTERM)

	// Wait for lb to listen, then show the balancing.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:8080"); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("lb did not start listening on 127.0.0.1:8080")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("\n== six requests through lb (127.0.0.1:8080), round robin over two backends:")
	for i := 0; i < 6; i++ {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:8080/request-%d", i+1))
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("   request %d -> %s", i+1, b)
	}
	fmt.Println("== lb keeps running: try `curl http://127.0.0.1:8080/`; Ctrl-C stops it.")

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
