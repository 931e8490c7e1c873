package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateMan = flag.Bool("update-man", false, "regenerate docs/man/lb.8 from docs/man/lb.8.md")

// TestManPage: docs/man/lb.8, the lb(8) man page, is generated from its
// markdown source docs/man/lb.8.md (run with -update-man after editing
// the source), so the two never drift; and the options it documents are
// the ones lb parses.
func TestManPage(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "man", "lb.8.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := markdownToMan(string(src))
	out := filepath.Join("..", "..", "docs", "man", "lb.8")
	if *updateMan {
		if err := os.WriteFile(out, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%v (run: go test ./cmd/lb -run TestManPage -args -update-man)", err)
	}
	if string(want) != got {
		t.Errorf("docs/man/lb.8 is not generated from docs/man/lb.8.md: run go test ./cmd/lb -run TestManPage -args -update-man")
	}
	for _, opt := range []string{"-f", "-c", "-v", "convert"} {
		if !strings.Contains(string(src), "`"+opt) {
			t.Errorf("the man page does not document %s", opt)
		}
	}
	if !strings.HasPrefix(got, ".TH LB 8 ") || !strings.Contains(got, ".SH SYNOPSIS") {
		t.Errorf("not a man page:\n%s", got[:min(len(got), 200)])
	}
}

// markdownToMan converts the small markdown of docs/man (a title line
// "# name section date source manual", "##" sections, paragraphs, `code`,
// **bold**, *italic*, and definition lists "term" then ":   text") to
// roff for man(7).
func markdownToMan(md string) string {
	var b strings.Builder
	inline := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\e`)
		s = strings.ReplaceAll(s, "-", `\-`)
		s = regexp.MustCompile("`([^`]*)`").ReplaceAllString(s, `\fB$1\fR`)
		s = regexp.MustCompile(`\*\*([^*]*)\*\*`).ReplaceAllString(s, `\fB$1\fR`)
		s = regexp.MustCompile(`\*([^*]*)\*`).ReplaceAllString(s, `\fI$1\fR`)
		if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
			s = `\&` + s
		}
		return s
	}
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString(inline(strings.Join(para, " ")) + "\n")
			para = nil
		}
	}
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " ")
		switch {
		case strings.HasPrefix(l, "# "):
			f := regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(l[2:], -1)
			f[0] = strings.ToUpper(f[0])
			b.WriteString(".TH " + strings.Join(f, " ") + "\n")
		case strings.HasPrefix(l, "## "):
			flush()
			b.WriteString(".SH " + strings.ToUpper(l[3:]) + "\n")
		case l == "":
			flush()
			if i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "#") && lines[i+1] != "" && b.Len() > 0 {
				b.WriteString(".PP\n")
			}
		case strings.HasPrefix(l, ":   "):
			flush()
			text := []string{l[4:]}
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    ") {
				i++
				text = append(text, strings.TrimSpace(lines[i]))
			}
			b.WriteString(".RS\n" + inline(strings.Join(text, " ")) + "\n.RE\n")
		default:
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], ":   ") {
				flush()
				b.WriteString(".TP\n" + inline(l) + "\n")
				continue
			}
			para = append(para, l)
		}
	}
	flush()
	return b.String()
}
