package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sandhold.dev/execd/pkg/stream"
)

// ErrBusy is returned when a session already runs a command.
var ErrBusy = errors.New("session is already running a command")

// Session is a persistent shell: cwd, variables and functions survive
// between runs. Each run is written to the shell's stdin followed by a
// sentinel that prints the exit code, which is how the end of a run is found.
type Session struct {
	ID     string
	cwd    string
	marker string

	run sync.Mutex // one run at a time

	mu    sync.Mutex // guards the fields below
	pid   int
	stdin *os.File
	dead  chan struct{}
	code  int
	sink  Sink
	ends  chan end
}

type end struct {
	stream string
	code   int
}

func newSession(cwd string) *Session {
	return &Session{ID: NewID(), cwd: cwd, marker: "__EXECD_END_" + NewID() + "__"}
}

// spawn starts the shell; callers hold s.run (or own s exclusively).
func (s *Session) spawn() error {
	shell := Shell()
	args := []string{shell}
	if filepath.Base(shell) == "bash" {
		args = append(args, "--noprofile", "--norc")
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{
		Path: shell, Args: args, Env: BaseEnv(), Dir: s.cwd,
		Stdin: inR, Stdout: outW, Stderr: errW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return fmt.Errorf("starting session shell %s: %w", shell, err)
	}
	dead := make(chan struct{})
	s.mu.Lock()
	s.pid, s.stdin, s.dead, s.ends = cmd.Process.Pid, inW, dead, make(chan end, 4)
	ends := s.ends
	s.mu.Unlock()

	var readers sync.WaitGroup
	readers.Add(2)
	go s.pump(&readers, outR, "stdout", ends)
	go s.pump(&readers, errR, "stderr", ends)
	go func() {
		_ = cmd.Wait()
		drainPipes(&readers, outR, errR)
		inW.Close()
		s.mu.Lock()
		s.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.code = 128 + int(ws.Signal())
		}
		s.mu.Unlock()
		close(dead)
	}()
	return nil
}

func (s *Session) pump(wg *sync.WaitGroup, r *os.File, name string, ends chan end) {
	defer wg.Done()
	stream.SplitLines(r, func(b []byte) {
		line := string(b)
		i := strings.Index(line, s.marker)
		if i >= 0 {
			line = line[:i]
		}
		if i < 0 || line != "" {
			s.mu.Lock()
			sink := s.sink
			s.mu.Unlock()
			if sink != nil {
				sink(name, line)
			}
		}
		if i >= 0 {
			code, _ := strconv.Atoi(strings.TrimSpace(string(b[i+len(s.marker):])))
			select {
			case ends <- end{stream: name, code: code}:
			default:
			}
		}
	})
}

// script wraps one run: eval keeps state in the shell, stdin from
// /dev/null keeps the command from eating the script that follows it.
func (s *Session) script(command, cwd string) string {
	var b strings.Builder
	body := "eval " + shellQuote(command) + " </dev/null"
	if cwd != "" {
		b.WriteString("__execd_prev=$PWD\n")
		b.WriteString("cd -- " + shellQuote(cwd) + " && " + body + "\n__execd_rc=$?\ncd -- \"$__execd_prev\"\n")
	} else {
		b.WriteString(body + "\n__execd_rc=$?\n")
	}
	fmt.Fprintf(&b, "printf '%%s%%d\\n' %s \"$__execd_rc\"\n", shellQuote(s.marker))
	fmt.Fprintf(&b, "printf '%%s\\n' %s >&2\n", shellQuote(s.marker))
	return b.String()
}

func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

// RunWithStart executes command in the session and blocks until it
// finished, timed out or ctx ended. begin is called once the run is
// certain to happen (the session was free and its shell is up), before any
// output reaches sink. A timeout or an abandoned run kills the shell: the
// next run starts a fresh one (state is lost, processes are not leaked).
func (s *Session) RunWithStart(ctx context.Context, command, cwd string, timeout time.Duration, begin func(), sink Sink) (Outcome, error) {
	if !s.run.TryLock() {
		return Outcome{}, ErrBusy
	}
	defer s.run.Unlock()
	if s.alive() == nil {
		if err := s.spawn(); err != nil {
			return Outcome{}, err
		}
	}
	begin()
	s.mu.Lock()
	s.sink = sink
	stdin, dead, ends := s.stdin, s.dead, s.ends
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.sink = nil
		s.mu.Unlock()
	}()

	start := time.Now()
	go func() { _, _ = stdin.WriteString(s.script(command, cwd)) }()
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expire = t.C
	}
	code, seen := 0, map[string]bool{}
	for len(seen) < 2 {
		select {
		case e := <-ends:
			seen[e.stream] = true
			if e.stream == "stdout" {
				code = e.code
			}
		case <-dead:
			s.mu.Lock()
			code = s.code
			s.mu.Unlock()
			return exitOutcome(code, start, "", ""), nil
		case <-expire:
			s.kill()
			<-dead
			return exitOutcome(128+int(syscall.SIGTERM), start, "TimeoutError",
				fmt.Sprintf("command timed out after %d ms; the session shell was restarted", timeout.Milliseconds())), nil
		case <-ctx.Done():
			s.kill()
			<-dead
			return exitOutcome(128+int(syscall.SIGTERM), start, "Interrupted", "client disconnected"), nil
		}
	}
	return exitOutcome(code, start, "", ""), nil
}

func exitOutcome(code int, start time.Time, ename, msg string) Outcome {
	o := Outcome{ExitCode: code, Elapsed: time.Since(start)}
	if code == 0 && ename == "" {
		return o
	}
	if ename == "" {
		ename = "CommandExitError"
	}
	o.Error = &stream.ErrorInfo{Ename: ename, Evalue: strconv.Itoa(code), Traceback: []string{}}
	if msg != "" {
		o.Error.Traceback = []string{msg}
	}
	return o
}

// alive returns the running shell's dead channel, or nil if there is none.
func (s *Session) alive() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead == nil {
		return nil
	}
	select {
	case <-s.dead:
		return nil
	default:
		return s.dead
	}
}

func (s *Session) kill() {
	s.mu.Lock()
	pid := s.pid
	s.mu.Unlock()
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		time.AfterFunc(KillGrace, func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
	}
}

// Sessions is the registry of sessions.
type Sessions struct {
	mu       sync.Mutex
	sessions map[string]*Session
}

// NewSessions returns an empty registry.
func NewSessions() *Sessions { return &Sessions{sessions: map[string]*Session{}} }

// Create starts a session shell in cwd ("" = execd's directory).
func (r *Sessions) Create(cwd string) (*Session, error) {
	if cwd != "" {
		abs, err := expandCwd(cwd, BaseEnv())
		if err != nil {
			return nil, err
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("'cwd' %q is not an existing directory", abs)
		}
		cwd = abs
	}
	s := newSession(cwd)
	if err := s.spawn(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.sessions[s.ID] = s
	r.mu.Unlock()
	return s, nil
}

// Get finds a session.
func (r *Sessions) Get(id string) (*Session, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[id]
	return s, ok
}

// Delete kills a session's shell and forgets it.
func (r *Sessions) Delete(id string) bool {
	r.mu.Lock()
	s, ok := r.sessions[id]
	delete(r.sessions, id)
	r.mu.Unlock()
	if ok {
		s.kill()
	}
	return ok
}

// CloseAll kills every session (shutdown).
func (r *Sessions) CloseAll() {
	r.mu.Lock()
	all := r.sessions
	r.sessions = map[string]*Session{}
	r.mu.Unlock()
	for _, s := range all {
		s.kill()
		s.mu.Lock()
		pid := s.pid
		s.mu.Unlock()
		if pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}
