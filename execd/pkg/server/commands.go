package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"sandhold.dev/execd/pkg/apierr"
	"sandhold.dev/execd/pkg/command"
	"sandhold.dev/execd/pkg/stream"
)

type runRequest struct {
	Command    string            `json:"command"`
	Argv       []string          `json:"argv"`
	Cwd        string            `json:"cwd"`
	Background bool              `json:"background"`
	Timeout    int64             `json:"timeout"`
	UID        *uint32           `json:"uid"`
	GID        *uint32           `json:"gid"`
	Envs       map[string]string `json:"envs"`
}

type statusResponse struct {
	ID         string  `json:"id"`
	Content    string  `json:"content"`
	Running    bool    `json:"running"`
	ExitCode   *int    `json:"exit_code"`
	Error      string  `json:"error,omitempty"`
	StartedAt  string  `json:"started_at"`
	FinishedAt *string `json:"finished_at"`
}

func (s *Server) runCommand(w http.ResponseWriter, r *http.Request) {
	var req runRequest
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	spec := command.Spec{
		Command: req.Command, Argv: req.Argv, Cwd: req.Cwd, Env: req.Envs,
		Timeout: time.Duration(req.Timeout) * time.Millisecond, UID: req.UID, GID: req.GID,
		Background: req.Background,
	}
	env := command.BaseEnv()
	if err := spec.Validate(command.MergeEnv(env, req.Envs)); err != nil {
		writeError(w, apierr.BadRequest("%v", err))
		return
	}
	p := s.Commands.New(spec)
	sw := openStream(w)
	defer sw.Close()
	_ = sw.Send(stream.Event{Type: stream.TypeInit, Text: p.ID})
	s.log.Debug("command start", "id", p.ID, "background", spec.Background)

	if spec.Background {
		if err := p.Start(env, nil); err != nil {
			finishStream(sw, p.Outcome())
			return
		}
		zero := int64(0)
		_ = sw.Send(stream.Event{Type: stream.TypeComplete, ExecutionTime: &zero})
		return
	}
	stop := make(chan struct{})
	defer close(stop)
	go sw.KeepAlive(s.PingInterval, stop)
	sink := func(name, line string) { _ = sw.Send(stream.Event{Type: name, Text: line}) }
	if err := p.Start(env, sink); err != nil {
		_ = sw.Send(stream.Event{Type: stream.TypeStderr, Text: err.Error()})
	}
	select {
	case <-p.Done():
	case <-r.Context().Done():
		// The client left: the command must not outlive its only reader.
		p.Abandon()
		<-p.Done()
		return
	}
	finishStream(sw, p.Outcome())
}

func openStream(w http.ResponseWriter) *stream.Writer {
	stream.SetHeaders(w)
	w.WriteHeader(http.StatusOK)
	return stream.NewWriter(w)
}

// finishStream sends the last event: error for a non-zero exit, timeout or
// interrupt (evalue = exit code), execution_complete otherwise.
func finishStream(sw *stream.Writer, o command.Outcome) {
	if o.Error != nil {
		_ = sw.Send(stream.Event{Type: stream.TypeError, Error: o.Error})
		return
	}
	ms := o.Elapsed.Milliseconds()
	_ = sw.Send(stream.Event{Type: stream.TypeComplete, ExecutionTime: &ms})
}

func (s *Server) interruptCommand(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, apierr.BadRequest("query parameter 'id' is required"))
		return
	}
	if p, ok := s.Commands.Get(id); ok {
		p.Interrupt()
		w.WriteHeader(http.StatusOK)
		return
	}
	if _, ok := s.Sessions.Get(id); ok {
		s.Sessions.Delete(id)
		w.WriteHeader(http.StatusOK)
		return
	}
	writeError(w, apierr.NotFound("COMMAND_NOT_FOUND", "no command with id %q", id))
}

// commandQuery serves GET /command/status/{id} and GET /command/{id}/logs.
func (s *Server) commandQuery(w http.ResponseWriter, r *http.Request) {
	a, b := r.PathValue("a"), r.PathValue("b")
	switch {
	case a == "status":
		s.commandStatus(w, b)
	case b == "logs":
		s.commandLogs(w, r, a)
	default:
		writeError(w, apierr.NotFound("NOT_FOUND", "no route for GET %s", r.URL.Path))
	}
}

func (s *Server) commandStatus(w http.ResponseWriter, id string) {
	p, ok := s.Commands.Get(id)
	if !ok {
		writeError(w, apierr.NotFound("COMMAND_NOT_FOUND", "no command with id %q", id))
		return
	}
	st := p.Status()
	resp := statusResponse{
		ID: st.ID, Content: st.Content, Running: st.Running, ExitCode: st.ExitCode,
		Error: st.Error, StartedAt: st.StartedAt.UTC().Format(time.RFC3339Nano),
	}
	if st.FinishedAt != nil {
		f := st.FinishedAt.UTC().Format(time.RFC3339Nano)
		resp.FinishedAt = &f
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) commandLogs(w http.ResponseWriter, r *http.Request, id string) {
	p, ok := s.Commands.Get(id)
	if !ok {
		writeError(w, apierr.NotFound("COMMAND_NOT_FOUND", "no command with id %q", id))
		return
	}
	cursor := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			writeError(w, apierr.BadRequest("cursor %q must be a non-negative integer", c))
			return
		}
		cursor = n
	}
	text, next, ok := p.Logs(cursor)
	if !ok {
		writeError(w, apierr.BadRequest("command %q ran in the foreground; its output was streamed, not kept", id))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("EXECD-COMMANDS-TAIL-CURSOR", strconv.Itoa(next))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(text))
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Cwd string `json:"cwd"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		writeError(w, err)
		return
	}
	sess, err := s.Sessions.Create(req.Cwd)
	if err != nil {
		writeError(w, apierr.BadRequest("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"session_id": sess.ID})
}

func (s *Server) runInSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sess, ok := s.Sessions.Get(id)
	if !ok {
		writeError(w, apierr.NotFound("SESSION_NOT_FOUND", "no session with id %q", id))
		return
	}
	var req struct {
		Command string `json:"command"`
		Cwd     string `json:"cwd"`
		Timeout int64  `json:"timeout"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		writeError(w, err)
		return
	}
	if req.Command == "" {
		writeError(w, apierr.BadRequest("'command' is required"))
		return
	}
	if req.Timeout < 0 {
		writeError(w, apierr.BadRequest("'timeout' must not be negative"))
		return
	}
	// Opening the stream waits for the session lock check below, so a busy
	// session still gets a plain 409.
	sw := (*stream.Writer)(nil)
	started := false
	sink := func(name, line string) { _ = sw.Send(stream.Event{Type: name, Text: line}) }
	stop := make(chan struct{})
	defer close(stop)
	begin := func() {
		sw = openStream(w)
		_ = sw.Send(stream.Event{Type: stream.TypeInit, Text: sess.ID})
		go sw.KeepAlive(s.PingInterval, stop)
		started = true
	}
	o, err := sess.RunWithStart(r.Context(), req.Command, req.Cwd, time.Duration(req.Timeout)*time.Millisecond, begin, sink)
	if !started {
		if errors.Is(err, command.ErrBusy) {
			writeError(w, apierr.New(http.StatusConflict, "SESSION_BUSY", "%v", err))
			return
		}
		writeError(w, err)
		return
	}
	defer sw.Close()
	if err != nil {
		_ = sw.Send(stream.Event{Type: stream.TypeStderr, Text: err.Error()})
	}
	if r.Context().Err() == nil {
		finishStream(sw, o)
	}
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	if !s.Sessions.Delete(r.PathValue("id")) {
		writeError(w, apierr.NotFound("SESSION_NOT_FOUND", "no session with id %q", r.PathValue("id")))
		return
	}
	w.WriteHeader(http.StatusOK)
}
