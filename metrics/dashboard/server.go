package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cleval/cleval/metrics/store"
)

//go:embed assets
var assetFS embed.FS

// Poll intervals the page uses (milliseconds): a run view asks for new
// evaluation points this often, the runs view for the list.
const (
	PollRun  = 500
	PollRuns = 2000
)

// Options configure a Server.
type Options struct {
	// Token, when not empty, is required on every request: as the cookie
	// the page sets, an "Authorization: Bearer TOKEN" header, or a
	// token=TOKEN query parameter (which, on a page, sets the cookie and
	// is then dropped from the address).
	Token string
	// Version is shown on the page.
	Version string
	// CacheBytes bounds the memory of the series cache; zero means
	// DefaultCacheBytes.
	CacheBytes int64
	// Log receives one line per failed request; nil discards them.
	Log *log.Logger
	// now is the clock (tests).
	now func() time.Time
}

// DefaultCacheBytes is the default bound of the series cache.
const DefaultCacheBytes = 256 << 20

// Server serves the dashboard of one database. It only reads: every
// endpoint answers GET or HEAD.
type Server struct {
	db    *store.DB
	opt   Options
	mux   *http.ServeMux
	cache *cache
	host  string // os.Hostname, to tell whether a running run's process is alive
	// splitAbove: first reads of more iterations are cut in ranges read
	// in parallel; parts, when not 0, is their number (tests).
	splitAbove, parts int
	// parallelAbove: curves of more points are downsampled in parallel.
	parallelAbove int

	runsMu  sync.Mutex
	runsSig string
	runsSet *runsState
}

// New returns a server of db, which should be opened read-only
// (store.Options{ReadOnly: true}); the server never writes to it.
func New(db *store.DB, opt Options) *Server {
	if opt.now == nil {
		opt.now = time.Now
	}
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	s := &Server{db: db, opt: opt, mux: http.NewServeMux(), cache: newCache(opt.CacheBytes), host: hostname(), splitAbove: splitAbove, parallelAbove: parallelAbove}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	s.mux.Handle("/assets/", http.StripPrefix("/assets/", noListing(files)))
	s.mux.HandleFunc("/", s.index)
	s.mux.HandleFunc("/api/info", s.apiInfo)
	s.mux.HandleFunc("/api/runs", s.apiRuns)
	s.mux.HandleFunc("/api/run", s.apiRun)
	s.mux.HandleFunc("/api/series", s.apiSeries)
	s.mux.HandleFunc("/api/compare", s.apiCompare)
	s.mux.HandleFunc("/export", s.export)
	s.mux.HandleFunc("/report", s.report)
	return s
}

// csp allows the page's own scripts, styles and requests only: no inline
// script, nothing from elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// reportCSP is the policy of the HTML report: no script at all, and the
// report's own inline styles and SVG figures.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// TokenCookie is the cookie that carries the token.
const TokenCookie = "cleval_token"

// ServeHTTP checks the method, the Host header (without a token) or the
// token, sets the security headers and serves the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method %s not allowed: the dashboard is read-only (GET and HEAD only)", r.Method)
		return
	}
	if s.opt.Token == "" {
		// Without a token only loopback names are served: a web page
		// elsewhere cannot read the dashboard through a DNS name that
		// points at 127.0.0.1 (DNS rebinding).
		if !loopbackHost(r.Host) {
			httpError(w, http.StatusForbidden, "Host %q is not a loopback name: open the dashboard as http://127.0.0.1:PORT or http://localhost:PORT, or serve it with --token", r.Host)
			return
		}
	} else if !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized checks the token; a page request carrying token=... gets the
// cookie and a redirect to the same address without the token.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if qt := q.Get("token"); qt != "" {
		if !s.tokenOK(qt) {
			httpError(w, http.StatusUnauthorized, "wrong token")
			return false
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: qt, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q.Del("token")
			u := url.URL{Path: r.URL.Path, RawQuery: q.Encode(), Fragment: r.URL.Fragment}
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return false
		}
		return true
	}
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && s.tokenOK(auth) {
		return true
	}
	if c, err := r.Cookie(TokenCookie); err == nil && s.tokenOK(c.Value) {
		return true
	}
	httpError(w, http.StatusUnauthorized, "this dashboard needs its token: open the address printed by cleval serve (…/?token=TOKEN) or send Authorization: Bearer TOKEN")
	return false
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.opt.Token)) == 1
}

// NewToken returns a random token (128 bits, URL-safe).
func NewToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// IsLoopback reports whether the host of a listen address (host:port) is
// a loopback address or "localhost". An empty host (all interfaces) is
// not.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("dashboard: address %q: %v (want HOST:PORT, e.g. 127.0.0.1:8080)", addr, err)
	}
	return loopbackName(host), nil
}

func loopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost checks a Host header.
func loopbackHost(h string) bool {
	host := h
	if hh, _, err := net.SplitHostPort(h); err == nil {
		host = hh
	}
	return loopbackName(strings.Trim(host, "[]"))
}

// noListing refuses directory listings of the embedded assets.
func noListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			httpError(w, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		httpError(w, http.StatusNotFound, "not found: %s (the dashboard is at /)", r.URL.Path)
		return
	}
	b, err := assetFS.ReadFile("assets/index.html")
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(apiError{Error: fmt.Sprintf(format, args...)})
}

// badRequest is an error in the request's parameters (status 400).
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &badRequest{fmt.Sprintf(format, args...)}
}

// fail answers err: 400 for bad parameters, 404 for unknown runs, 500
// otherwise (logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		httpError(w, http.StatusBadRequest, "%s", br.msg)
	case errors.Is(err, store.ErrNotFound):
		httpError(w, http.StatusNotFound, "%v", err)
	default:
		if s.opt.Log != nil {
			s.opt.Log.Printf("%s %s: %v", r.Method, r.URL.Path, err)
		}
		httpError(w, http.StatusInternalServerError, "%v", err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

// params reads the query of r, rejecting parameters not in allowed and
// repeated ones.
type params struct {
	q url.Values
}

func newParams(r *http.Request, allowed ...string) (params, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, badParam("bad query string: %v", err)
	}
	for k, v := range q {
		if k == "token" {
			continue
		}
		if !slices.Contains(allowed, k) {
			return params{}, badParam("unknown parameter %q (this endpoint takes: %s)", k, strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return params{}, badParam("parameter %q given %d times", k, len(v))
		}
	}
	return params{q}, nil
}

func (p params) has(name string) bool { return p.q.Has(name) }

// int returns the integer parameter name in [lo, hi], or def when absent.
func (p params) int(name string, def, lo, hi int) (int, error) {
	if !p.q.Has(name) {
		return def, nil
	}
	v, err := strconv.Atoi(p.q.Get(name))
	if err != nil {
		return 0, badParam("parameter %s=%q: not an integer", name, p.q.Get(name))
	}
	if v < lo || v > hi {
		return 0, badParam("parameter %s=%d: must be in [%d, %d]", name, v, lo, hi)
	}
	return v, nil
}

// runID returns the required run id parameter.
func (p params) runID(name string) (int64, error) {
	if !p.q.Has(name) {
		return 0, badParam("missing parameter %s (a run id, see /api/runs)", name)
	}
	v, err := strconv.ParseInt(p.q.Get(name), 10, 64)
	if err != nil || v < 1 {
		return 0, badParam("parameter %s=%q: want a run id (an integer >= 1)", name, p.q.Get(name))
	}
	return v, nil
}

// ids parses "1,2,5-9" into run ids.
func (p params) ids(name string) ([]int64, error) {
	s := p.q.Get(name)
	if s == "" {
		return nil, nil
	}
	var out []int64
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		b := a
		if err == nil && isRange {
			b, err = strconv.ParseInt(hi, 10, 64)
		}
		if err != nil || a < 1 || b < a || b-a > 100000 {
			return nil, badParam("parameter %s: %q is not a run id or range (want e.g. 1,2,5-9)", name, part)
		}
		for id := a; id <= b; id++ {
			out = append(out, id)
		}
	}
	return out, nil
}

// list returns a comma-separated parameter as a list.
func (p params) list(name string) []string {
	s := p.q.Get(name)
	if s == "" {
		return nil
	}
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) apiInfo(w http.ResponseWriter, r *http.Request) {
	if _, err := newParams(r); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{
		"db":        s.db.Path(),
		"immutable": s.db.Immutable(),
		"schema":    s.db.Version(),
		"version":   s.opt.Version,
		"poll_ms":   map[string]int{"run": PollRun, "runs": PollRuns},
	})
}
