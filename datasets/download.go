package datasets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Download fetches the four files of the known dataset name into
// os.UserCacheDir()/cleval/<name> and returns that directory. Files already
// there with the published SHA-256 are kept. Each file is tried at each of
// the dataset's URLs in turn (or at opts.BaseURL only), its size and SHA-256
// checked against KnownFiles, and written atomically (temporary file, then
// rename), so an interrupted or corrupt download leaves nothing behind.
// Errors wrap ErrDownload, and ErrChecksum when the server sent other bytes.
func Download(name string, opts LocateOptions) (string, error) {
	info, err := lookup(name)
	if err != nil {
		return "", err
	}
	if !info.Downloadable {
		return "", fmt.Errorf("datasets: %s cannot be downloaded by cleval: %s: %w", name, info.GetIt, ErrDownload)
	}
	root, err := userCacheDir()
	if err != nil {
		return "", fmt.Errorf("datasets: downloading %s: no user cache dir: %w: %w", name, err, ErrDownload)
	}
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("datasets: downloading %s: %w: %w", name, err, ErrDownload)
	}
	bases := info.URLs
	if opts.BaseURL != "" {
		bases = []string{opts.BaseURL}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	client := &http.Client{Transport: newTransport()}
	defer client.CloseIdleConnections()
	for _, kf := range KnownFiles[name] {
		dest := filepath.Join(dir, kf.Name)
		if c := verifyFile(dir, kf); c.Match == FileMatch && c.Path == dest {
			continue
		}
		var errs []string
		var kinds []error
		ok := false
		for _, base := range bases {
			url := strings.TrimSuffix(base, "/") + "/" + kf.Name
			err := fetch(client, url, dest, kf, timeout)
			if err == nil {
				ok = true
				break
			}
			errs = append(errs, err.Error())
			kinds = append(kinds, err)
		}
		if !ok {
			return "", &downloadError{name: name, file: kf.Name, msgs: errs, errs: kinds, getIt: info.GetIt}
		}
	}
	return dir, nil
}

type downloadError struct {
	name, file, getIt string
	msgs              []string
	errs              []error
}

func (e *downloadError) Error() string {
	return fmt.Sprintf("datasets: downloading %s: %s: %s (without network, install it offline: %s)",
		e.name, e.file, strings.Join(e.msgs, "; "), e.getIt)
}

func (e *downloadError) Unwrap() []error { return append([]error{ErrDownload}, e.errs...) }

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}

// fetch downloads url to dest through a temporary file in the same
// directory, checking the size and SHA-256 against kf.
func fetch(client *http.Client, url, dest string, kf KnownFile, timeout time.Duration) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err // *url.Error names the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, kf.Size+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if n != kf.Size {
		return fmt.Errorf("GET %s: got %d bytes, want %d: %w", url, n, kf.Size, ErrChecksum)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != kf.SHA256 {
		return fmt.Errorf("GET %s: SHA-256 %s, want %s: %w", url, sum, kf.SHA256, ErrChecksum)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}
