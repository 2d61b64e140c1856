// Package server is the REST API: a drop-in for the reference API
// (../shared/reference/autoid-api.txt and jobs-api.txt) over the serving
// store. Every endpoint is a row of one route table (routes.go), which the
// router, authorization, the authorization tests and the OpenAPI document
// all read.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/store"
)

// Config configures a Server. Zero fields take the defaults of
// WithDefaults.
type Config struct {
	// Store is the serving store (required).
	Store *store.DB
	// WorkspaceDir is the engine's workspace (required for the jobs, ingest
	// and configuration endpoints).
	WorkspaceDir string
	// Logger receives the access log and errors; default: discard.
	Logger *slog.Logger
	// Version is what /version answers; default "dev".
	Version string
	// TokenTTL is the lifetime of a bearer token; default 12h.
	TokenTTL time.Duration
	// MaxBodyBytes bounds a request body; default 32 MiB.
	MaxBodyBytes int64
	// TenantID, when set, is the deployment's tenant: a request whose
	// x-tenant-id header names another tenant is refused (403).
	TenantID string
	// Argon2 are the password hashing costs; default DefaultArgon2().
	Argon2 Argon2Params
	// LoginAttempts failed logins per user and per address are allowed in
	// LoginWindow; defaults 5 and 15 minutes.
	LoginAttempts int
	LoginWindow   time.Duration
	// Runner runs the jobs; nil: the jobs endpoints answer 503. The caller
	// owns it (Recover at start, Close at the end).
	Runner *pipeline.Runner
	// AuthCacheTTL is how long a credential lookup is remembered (changes
	// made by another process take effect within it); default 1s, negative:
	// none.
	AuthCacheTTL time.Duration
	// OIDC configures single sign-on; nil: SSO is not configured.
	OIDC *OIDCConfig
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// WithDefaults returns the configuration with zero fields set to their
// defaults.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "dev"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			c.Version = bi.Main.Version
		}
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 12 * time.Hour
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 32 << 20
	}
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2()
	}
	if c.LoginAttempts == 0 {
		c.LoginAttempts = 5
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = 15 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AuthCacheTTL == 0 {
		c.AuthCacheTTL = time.Second
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("server config: Store is required")
	case c.TokenTTL < 0:
		return fmt.Errorf("server config: TokenTTL %v is negative", c.TokenTTL)
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("server config: MaxBodyBytes %d is negative", c.MaxBodyBytes)
	case c.LoginAttempts < 0 || c.LoginWindow < 0:
		return errors.New("server config: LoginAttempts and LoginWindow must not be negative")
	}
	if c.OIDC != nil {
		if err := c.OIDC.validate(); err != nil {
			return err
		}
	}
	return nil
}

// Server is the REST API.
type Server struct {
	cfg     Config
	db      *store.DB
	log     *slog.Logger
	tokens  *tokens
	logins  *limiter
	auth    *authCache
	metrics *metrics
	started time.Time
	table   []route
	handler http.Handler
	// oidc is the SSO client; nil: SSO is not configured.
	oidc *oidcClient
	// ingestMu serialises the REST ingests of this process (the check of
	// existing keys and the ingest that follows).
	ingestMu sync.Mutex
	// ui is the UI configuration, replaced by reloadUIConfig.
	ui atomic.Pointer[UIConfig]
	// streams ends the log streams when the server shuts down (Close).
	streams     context.Context
	stopStreams context.CancelFunc
	// dummyHash is checked when a login names no user, so that a failed
	// login takes as long either way.
	dummyHash string
}

// New builds a server: it reads (or creates) the token signing key in the
// store and assembles the router from the route table.
func New(cfg Config) (*Server, error) {
	ctx := context.Background()
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	key, err := cfg.Store.Secret(ctx, "jwt_hs256", newSecret)
	if err != nil {
		return nil, fmt.Errorf("server: signing key: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		db:      cfg.Store,
		log:     cfg.Logger,
		tokens:  &tokens{key: []byte(key), ttl: cfg.TokenTTL, issuer: "autoid", audience: "autoid-api", now: cfg.Now},
		logins:  newLimiter(cfg.LoginAttempts, cfg.LoginWindow, cfg.Now),
		auth:    newAuthCache(cfg.AuthCacheTTL),
		metrics: newMetrics(),
		started: cfg.Now(),
	}
	if s.dummyHash, err = hashPassword(cfg.Argon2, key); err != nil {
		return nil, err
	}
	if cfg.OIDC != nil {
		s.oidc = &oidcClient{cfg: *cfg.OIDC, http: &http.Client{Timeout: 10 * time.Second}}
	}
	ui, err := loadUIConfig(cfg.WorkspaceDir, cfg.OIDC != nil)
	if err != nil {
		return nil, err
	}
	s.ui.Store(&ui)
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	s.table = s.routes()
	if err := checkRoutes(s.table); err != nil {
		return nil, err
	}
	s.handler = s.router()
	return s, nil
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends the streaming responses (run logs) so that a graceful
// shutdown need not wait for them; register it with
// http.Server.RegisterOnShutdown. Other requests are unaffected.
func (s *Server) Close() { s.stopStreams() }

// metricsHandler serves the private registry in the Prometheus format.
func (s *Server) metricsHandler(*http.Request) (any, error) {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return stream(func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}), nil
}

func (s *Server) router() http.Handler {
	r := chi.NewRouter()
	r.Use(s.requestID, s.accessLog, s.recoverer, s.limitBody, s.tenant)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(KindNotFound, "", "no endpoint %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(KindMethodNotAllowed, "", "%s is not allowed on %s", r.Method, r.URL.Path))
	})
	for _, rt := range s.table {
		r.Method(rt.Method, rt.Path, s.endpoint(rt))
	}
	return r
}

// endpoint wraps a route: authentication, the access rule, the handler,
// and the writing of its result or error.
func (s *Server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, aerr := s.authenticate(r, rt.Access)
		if aerr != nil && !rt.Access.public {
			s.fail(w, r, aerr)
			return
		}
		if e := authorize(rt, c); e != nil {
			s.fail(w, r, e)
			return
		}
		if c != nil {
			r = r.WithContext(withCaller(r.Context(), c))
			if lw, ok := w.(*logWriter); ok {
				lw.caller = c.name()
			}
		}
		v, err := rt.Handle(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch v := v.(type) {
		case stream:
			if err := v(w, r); err != nil {
				s.log.Warn("stream ended with an error", "request_id", requestIDOf(r.Context()), "err", err)
			}
		case response:
			if v.Status == http.StatusNoContent || v.Status == http.StatusNotModified {
				w.WriteHeader(v.Status) // no body allowed
				return
			}
			writeJSON(w, v.Status, v.Body)
		default:
			writeJSON(w, http.StatusOK, v)
		}
	})
}

// fail writes an error; internal errors are logged with their cause.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Kind == KindInternal {
		s.log.Error("request failed", "request_id", requestIDOf(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, e)
}

type requestIDKey struct{}

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID takes the client's X-Request-Id when it is sane, else makes
// one, and returns it in the response.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			var b [8]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// logWriter records the status and size of a response.
type logWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	caller string
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog writes one structured line per request and the request
// metrics.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		lw := &logWriter{ResponseWriter: w}
		next.ServeHTTP(lw, r)
		d := time.Since(t0)
		if lw.status == 0 {
			lw.status = http.StatusOK
		}
		pattern := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			pattern = rc.RoutePattern()
		}
		s.metrics.requests.WithLabelValues(r.Method, pattern, strconv.Itoa(lw.status)).Inc()
		s.metrics.duration.WithLabelValues(r.Method, pattern).Observe(d.Seconds())
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestIDOf(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", pattern),
			slog.Int("status", lw.status),
			slog.Int64("bytes", lw.bytes),
			slog.Float64("ms", float64(d.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
			slog.String("caller", lw.caller),
		)
	})
}

// recoverer turns a panic in a handler into a 500 and logs it.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panicked", "request_id", requestIDOf(r.Context()), "panic", v, "stack", string(debug.Stack()))
				writeError(w, internal(fmt.Errorf("panic: %v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body; reading past the bound fails with
// a 413 (see decodeJSON).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, errorf(KindTooLarge, "body", "the body has %d bytes; the limit is %d", r.ContentLength, s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// tenant applies the x-tenant-id rule: one tenant per deployment; when one
// is configured, a request naming another is refused; otherwise the
// header is ignored.
func (s *Server) tenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.TenantID != "" {
			if t := r.Header.Get("X-Tenant-Id"); t != "" && t != s.cfg.TenantID {
				writeError(w, errorf(KindForbidden, "x-tenant-id", "tenant %q is not served here", t))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// metrics are the server's Prometheus metrics, in a private registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "autoid_http_requests_total", Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "autoid_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"method", "route"}),
	}
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
