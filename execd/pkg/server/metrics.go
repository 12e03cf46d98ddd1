package server

import (
	"net/http"
	"time"

	"sandhold.dev/execd/pkg/stream"
)

func (s *Server) getMetrics(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.metrics.Collect())
}

// watchMetrics streams one snapshot per second until the client leaves.
func (s *Server) watchMetrics(w http.ResponseWriter, r *http.Request) {
	stream.SetHeaders(w)
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if stream.WriteSSE(w, s.metrics.Collect()) != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}
