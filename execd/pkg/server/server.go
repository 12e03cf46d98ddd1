// Package server is execd's HTTP API: routes, token check, error shape and
// panic recovery. The work itself lives in command, files, metrics, proxy.
package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/command"
	"sandhold.dev/execd/pkg/metrics"
	"sandhold.dev/execd/pkg/proxy"
)

// TokenHeader carries the access token on every request.
const TokenHeader = "X-EXECD-ACCESS-TOKEN"

// maxJSONBody bounds JSON request bodies (commands, bulk file operations).
const maxJSONBody = 16 << 20

// Server holds the state shared by the handlers.
type Server struct {
	token    string
	log      *slog.Logger
	Commands *command.Manager
	Sessions *command.Sessions
	metrics  metrics.Collector
	// PingInterval is the keep-alive period of command streams.
	PingInterval time.Duration
}

// New builds a server; an empty token leaves the API open.
func New(token string, log *slog.Logger) *Server {
	return &Server{
		token: token, log: log, Commands: command.NewManager(),
		Sessions: command.NewSessions(), PingInterval: 5 * time.Second,
	}
}

// Handler returns the routed, authenticated, panic-safe handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

	mux.HandleFunc("POST /command", s.runCommand)
	mux.HandleFunc("DELETE /command", s.interruptCommand)
	// "/command/status/{id}" and "/command/{id}/logs" overlap as ServeMux
	// patterns, so one route dispatches both.
	mux.HandleFunc("GET /command/{a}/{b}", s.commandQuery)
	mux.HandleFunc("POST /session", s.createSession)
	mux.HandleFunc("POST /session/{id}/run", s.runInSession)
	mux.HandleFunc("DELETE /session/{id}", s.deleteSession)

	mux.HandleFunc("POST /files/upload", s.upload)
	mux.HandleFunc("GET /files/download", s.download)
	mux.HandleFunc("GET /files/info", s.filesInfo)
	mux.HandleFunc("GET /files/search", s.search)
	mux.HandleFunc("DELETE /files", s.removeFiles)
	mux.HandleFunc("POST /files/mv", s.move)
	mux.HandleFunc("POST /files/permissions", s.permissions)
	mux.HandleFunc("POST /files/replace", s.replace)
	mux.HandleFunc("GET /directories/list", s.listDirectory)
	mux.HandleFunc("POST /directories", s.makeDirectories)
	mux.HandleFunc("DELETE /directories", s.removeDirectories)

	mux.HandleFunc("GET /metrics", s.getMetrics)
	mux.HandleFunc("GET /metrics/watch", s.watchMetrics)

	px := proxy.New()
	mux.Handle("/proxy/{port}", px)
	mux.Handle("/proxy/{port}/{path...}", px)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apierr.NotFound("NOT_FOUND", "no route for %s %s", r.Method, r.URL.Path))
	})
	return s.recoverer(s.authenticate(mux))
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.token == "" {
		return next
	}
	want := []byte(s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get(TokenHeader))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			code := "INVALID_ACCESS_TOKEN"
			if len(got) == 0 {
				code = "MISSING_ACCESS_TOKEN"
			}
			writeError(w, apierr.New(http.StatusUnauthorized, code, "header %s is missing or wrong", TokenHeader))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a handler panic into a 500 JSON answer (when nothing was
// written yet) and a log line, instead of a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !tw.wrote {
				writeError(tw, apierr.New(http.StatusInternalServerError, "INTERNAL_ERROR", "internal error: %v", v))
			}
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether the header went out; Unwrap keeps
// Flush/Hijack reachable through http.ResponseController.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Flush lets stream.Writer flush through the wrapper directly.
func (t *trackingWriter) Flush() {
	t.wrote = true
	_ = http.NewResponseController(t.ResponseWriter).Flush()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	e := apierr.From(err)
	writeJSON(w, e.Status, e)
}

// decodeJSON reads a bounded JSON body into v; an empty body is allowed
// only when emptyOK.
func decodeJSON(r *http.Request, v any, emptyOK bool) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		return apierr.BadRequest("reading request body: %v", err)
	}
	if len(body) > maxJSONBody {
		return apierr.BadRequest("request body is larger than %d bytes", maxJSONBody)
	}
	if len(body) == 0 {
		if emptyOK {
			return nil
		}
		return apierr.BadRequest("request body is empty; a JSON body is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return apierr.BadRequest("field %q must be %s", te.Field, te.Type)
		}
		return apierr.BadRequest("request body is not valid JSON: %v", err)
	}
	return nil
}
