// Package stream encodes the execd event stream: one JSON object per event,
// each followed by a blank line, flushed at once. The official clients read
// this framing (the bare-object form the upstream agent writes) and also the
// `data: {...}` SSE form, which WriteSSE produces for /metrics/watch.
package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Event types the clients dispatch on.
const (
	TypeInit     = "init"
	TypeStdout   = "stdout"
	TypeStderr   = "stderr"
	TypeError    = "error"
	TypeComplete = "execution_complete"
	TypePing     = "ping"
)

// ErrorInfo is the error payload of an "error" event. Evalue carries the
// exit code as a decimal string: the clients parse it back into exit_code.
type ErrorInfo struct {
	Ename     string   `json:"ename"`
	Evalue    string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// Event is one frame of the stream. Timestamp (Unix ms) is mandatory: the
// Python client drops events without it.
type Event struct {
	Type          string     `json:"type"`
	Text          string     `json:"text,omitempty"`
	ExecutionTime *int64     `json:"execution_time,omitempty"`
	Timestamp     int64      `json:"timestamp"`
	Error         *ErrorInfo `json:"error,omitempty"`
}

// NowMillis is the event clock.
func NowMillis() int64 { return time.Now().UnixMilli() }

// Writer serialises events from several goroutines (stdout reader, stderr
// reader, keep-alive ticker) onto one response.
type Writer struct {
	mu     sync.Mutex
	w      io.Writer
	flush  func()
	failed error
}

// NewWriter wraps w; when w is an http.ResponseWriter every event is flushed
// so clients see output as it happens.
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{w: w, flush: func() {}}
	if rw, ok := w.(http.ResponseWriter); ok {
		rc := http.NewResponseController(rw)
		sw.flush = func() { _ = rc.Flush() }
	}
	return sw
}

// Send writes one event; after the first write error every later Send
// returns that error (the client is gone).
func (sw *Writer) Send(ev Event) error {
	if ev.Timestamp == 0 {
		ev.Timestamp = NowMillis()
	}
	if ev.Error != nil && ev.Error.Traceback == nil {
		ev.Error.Traceback = []string{}
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding %s event: %w", ev.Type, err)
	}
	data = append(data, '\n', '\n')
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.failed != nil {
		return sw.failed
	}
	if _, err := sw.w.Write(data); err != nil {
		sw.failed = err
		return err
	}
	sw.flush()
	return nil
}

// Close makes every later Send fail: after the handler returned, nothing
// may touch the response (a keep-alive tick could still be in flight).
func (sw *Writer) Close() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.failed == nil {
		sw.failed = errClosed
	}
}

var errClosed = errors.New("stream closed")

// KeepAlive sends a ping every interval until stop is closed, so proxies
// and clients do not time out a quiet command.
func (sw *Writer) KeepAlive(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if sw.Send(Event{Type: TypePing, Text: "pong"}) != nil {
				return
			}
		}
	}
}

// WriteSSE writes v as one standard SSE `data:` frame and flushes.
func WriteSSE(w http.ResponseWriter, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding sse frame: %w", err)
	}
	if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
		return err
	}
	return http.NewResponseController(w).Flush()
}

// SetHeaders prepares a response for streaming.
func SetHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}
