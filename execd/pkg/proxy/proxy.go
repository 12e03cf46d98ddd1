// Package proxy forwards /proxy/{port}/{path...} to 127.0.0.1:{port} inside
// the sandbox, so one published port reaches every service in it. HTTP is
// streamed (no buffering) and WebSocket upgrades pass through.
package proxy

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

// TokenHeader is stripped before forwarding: the execd token must not
// reach the user's services.
const TokenHeader = "X-Execd-Access-Token"

// Handler serves the /proxy/{port}/... routes.
type Handler struct {
	rp *httputil.ReverseProxy
}

// New returns the proxy handler.
func New() *Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.Header.Del(TokenHeader)
			pr.SetXForwarded()
		},
		FlushInterval: -1, // flush every write: streamed responses stay live
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeJSON(w, http.StatusBadGateway, "PROXY_ERROR", "forwarding to "+r.URL.Host+": "+err.Error())
		},
	}
	return &Handler{rp: rp}
}

// ServeHTTP expects the route pattern to define {port}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	portText := r.PathValue("port")
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		writeJSON(w, http.StatusBadRequest, "INVALID_PORT", "port "+strconv.Quote(portText)+" is not in 1-65535")
		return
	}
	// Forward the rest of the escaped path as the client wrote it.
	prefix := "/proxy/" + portText
	rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
	if rest == "" {
		rest = "/"
	}
	target, err := url.Parse("http://127.0.0.1:" + strconv.Itoa(port) + rest)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, "INVALID_PATH", err.Error())
		return
	}
	target.RawQuery = r.URL.RawQuery
	out := r.Clone(r.Context())
	out.URL = target
	out.Host = target.Host
	out.RequestURI = ""
	h.rp.ServeHTTP(w, out)
}

func writeJSON(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
