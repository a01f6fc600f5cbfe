package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServe runs cleval serve on a free loopback port and returns the
// address it printed.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "http://") {
				line <- sc.Text()
			}
		}
		close(line)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatal("cleval serve exited without printing its address")
		}
		return cmd, regexp.MustCompile(`http://\S+`).FindString(l)
	case <-time.After(20 * time.Second):
		t.Fatal("cleval serve printed no address")
	}
	return nil, ""
}

// serveDB stores one small synthetic run.
func serveDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "serve.db")
	_, stderr, code := cleval(t, "run", "--benchmark", "split-synthetic", "--epochs", "1", "--hidden", "16", "--seeds", "0", "--db", path, "--quiet")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	return path
}

func TestServeCommand(t *testing.T) {
	t.Parallel()
	db := serveDB(t)
	cmd, url := startServe(t, "--db", db)
	resp, err := http.Get(url + "api/runs")
	if err != nil {
		t.Fatal(err)
	}
	var runs struct {
		Runs []struct{ Status string }
	}
	err = json.NewDecoder(resp.Body).Decode(&runs)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(runs.Runs) == 0 {
		t.Fatalf("GET /api/runs: %d %v %+v", resp.StatusCode, err, runs)
	}
	// Ctrl-C stops it cleanly.
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("cleval serve after SIGINT: %v, want exit status 0", err)
	}

	// With --token every request needs it; the printed address has it.
	_, url = startServe(t, "--db", db, "--token", "0123456789abcdef")
	if !strings.HasSuffix(url, "/?token=0123456789abcdef") {
		t.Fatalf("address %q lacks the token", url)
	}
	base := strings.TrimSuffix(url, "?token=0123456789abcdef")
	resp, err = http.Get(base + "api/runs")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("without the token: %d, want 401", resp.StatusCode)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err = browser.Get(url) // sets the cookie, redirects to /
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "/assets/app.js") || resp.Request.URL.RawQuery != "" {
		t.Errorf("the printed address: %d at %s\n%.200s", resp.StatusCode, resp.Request.URL, body)
	}
	resp, err = browser.Get(base + "api/runs") // the cookie is enough
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the cookie: %d", resp.StatusCode)
	}
}

func TestServeBadInput(t *testing.T) {
	t.Parallel()
	db := serveDB(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", filepath.Join(t.TempDir(), "none.db")}, "does not exist"},
		{[]string{"--db", db, "--addr", "8080"}, "want HOST:PORT"},
		{[]string{"--db", db, "--token", "short"}, "too short"},
		{[]string{"--db", db, "extra"}, "takes no arguments"},
	} {
		_, stderr, code := cleval(t, append([]string{"serve"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("serve %v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
