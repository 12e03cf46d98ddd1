package command

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sandhold.dev/execd/pkg/ids"
	"sandhold.dev/execd/pkg/stream"
)

// Tuning, with the reason for each value.
const (
	// KillGrace is how long a process group has between SIGTERM and SIGKILL.
	KillGrace = 2 * time.Second
	// outputGrace bounds how long output is still read after the command
	// itself exited: a grandchild left running (`server &`) keeps the pipe
	// open and must not hold the stream open forever.
	outputGrace = 200 * time.Millisecond
)

// Why a command ended early.
const (
	reasonNone = iota
	reasonTimeout
	reasonInterrupt
	reasonStartFailed
)

// Spec is one command request after decoding.
type Spec struct {
	Command    string
	Argv       []string
	Cwd        string
	Env        map[string]string
	Timeout    time.Duration
	UID, GID   *uint32
	Background bool
}

// Sink receives each output line; stream is "stdout" or "stderr".
type Sink func(stream, line string)

// Proc is one command: its process group, output and outcome.
type Proc struct {
	ID      string
	Content string
	spec    Spec
	log     *LineLog

	mu       sync.Mutex
	pid      int
	started  time.Time
	finished time.Time
	running  bool
	exitCode int
	reason   int
	errMsg   string
	done     chan struct{}
	onDone   func(*Proc)
}

// Status is the externally visible state of a command.
type Status struct {
	ID         string
	Content    string
	Running    bool
	ExitCode   *int
	Error      string
	StartedAt  time.Time
	FinishedAt *time.Time
}

// Outcome is how a finished command ended, shaped for the final event.
type Outcome struct {
	ExitCode int
	Elapsed  time.Duration
	Error    *stream.ErrorInfo // nil for a zero exit
}

// Validate checks the spec and resolves the working directory so a bad
// request is refused before any stream starts.
func (s *Spec) Validate(env []string) error {
	if strings.TrimSpace(s.Command) == "" && len(s.Argv) == 0 {
		return errors.New("one of 'command' or 'argv' is required")
	}
	if s.Command != "" && len(s.Argv) > 0 {
		return errors.New("'command' and 'argv' are mutually exclusive")
	}
	if len(s.Argv) > 0 && s.Argv[0] == "" {
		return errors.New("'argv[0]' must not be empty")
	}
	if s.GID != nil && s.UID == nil {
		return errors.New("'gid' requires 'uid'")
	}
	if s.Timeout < 0 {
		return errors.New("'timeout' must not be negative")
	}
	if s.Cwd == "" {
		return nil
	}
	cwd, err := expandCwd(s.Cwd, env)
	if err != nil {
		return err
	}
	st, err := os.Stat(cwd)
	if err != nil {
		return fmt.Errorf("'cwd' %q: %w", cwd, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("'cwd' %q is not a directory", cwd)
	}
	s.Cwd = cwd
	return nil
}

// expandCwd expands $NAME, ${NAME} and a leading ~ like the clients expect.
func expandCwd(cwd string, env []string) (string, error) {
	var missing []string
	out := os.Expand(cwd, func(k string) string {
		v := LookupEnv(env, k)
		if v == "" {
			missing = append(missing, k)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("'cwd' uses undefined variable(s) %s", strings.Join(missing, ", "))
	}
	if out == "~" || strings.HasPrefix(out, "~/") {
		out = LookupEnv(env, "HOME") + out[1:]
	}
	return filepath.Clean(out), nil
}

// Status snapshots the command state.
func (p *Proc) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{ID: p.ID, Content: p.Content, Running: p.running, Error: p.errMsg, StartedAt: p.started}
	if !p.running && !p.finished.IsZero() {
		code, fin := p.exitCode, p.finished
		st.ExitCode, st.FinishedAt = &code, &fin
	}
	return st
}

// Logs returns output since cursor; ok is false for foreground commands,
// whose output went to the stream only.
func (p *Proc) Logs(cursor int) (text string, next int, ok bool) {
	if p.log == nil {
		return "", 0, false
	}
	text, next = p.log.Since(cursor)
	return text, next, true
}

// Done is closed once the command exited and its output was drained.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Start launches the command in its own process group. Output lines go to
// sink (may be nil) and, for background commands, to the kept log.
func (p *Proc) Start(env []string, sink Sink) error {
	cmd, err := p.build(env)
	if err != nil {
		p.fail(err)
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		p.fail(err)
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		p.fail(err)
		return err
	}
	// Our own pipes (not cmd.StdoutPipe): Wait then does not block on a
	// grandchild that inherited them, and reads can be cut off by deadline.
	cmd.Stdout, cmd.Stderr = outW, errW
	p.mu.Lock()
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		p.mu.Unlock()
		outR.Close()
		errR.Close()
		p.fail(err)
		return err
	}
	p.pid, p.started, p.running = cmd.Process.Pid, time.Now(), true
	p.mu.Unlock()

	var readers sync.WaitGroup
	readers.Add(2)
	go p.pump(&readers, outR, "stdout", sink)
	go p.pump(&readers, errR, "stderr", sink)
	var timer *time.Timer
	if p.spec.Timeout > 0 {
		timer = time.AfterFunc(p.spec.Timeout, func() { p.Kill(reasonTimeout) })
	}
	go func() {
		_ = cmd.Wait()
		drainPipes(&readers, outR, errR)
		if timer != nil {
			timer.Stop()
		}
		p.finish(cmd.ProcessState)
	}()
	return nil
}

func (p *Proc) pump(wg *sync.WaitGroup, r *os.File, name string, sink Sink) {
	defer wg.Done()
	stream.SplitLines(r, func(b []byte) {
		line := string(b)
		if p.log != nil {
			p.log.Append(line)
		}
		if sink != nil {
			sink(name, line)
		}
	})
}

func (p *Proc) build(env []string) (*exec.Cmd, error) {
	env = MergeEnv(env, p.spec.Env)
	cred := &syscall.SysProcAttr{Setpgid: true}
	if p.spec.UID != nil {
		uid := *p.spec.UID
		gid := uid
		table := ids.Load()
		if u, ok := table.UserByID(uid); ok {
			gid = u.GID
			if _, set := p.spec.Env["HOME"]; !set {
				env = MergeEnv(env, map[string]string{"HOME": u.Home, "USER": u.Name})
			}
		}
		if p.spec.GID != nil {
			gid = *p.spec.GID
		}
		cred.Credential = &syscall.Credential{Uid: uid, Gid: gid, NoSetGroups: true}
	}
	var argv []string
	if len(p.spec.Argv) > 0 {
		argv = append([]string(nil), p.spec.Argv...)
		path, err := lookPath(argv[0], LookupEnv(env, "PATH"))
		if err != nil {
			return nil, err
		}
		argv[0] = path
	} else {
		argv = []string{Shell(), "-c", p.spec.Command}
	}
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Dir: p.spec.Cwd, SysProcAttr: cred}
	if len(p.spec.Argv) > 0 {
		cmd.Args[0] = p.spec.Argv[0]
	}
	return cmd, nil
}

// lookPath resolves a bare name against the command's PATH, not execd's.
func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("executable %q not found in PATH: %w", name, fs.ErrNotExist)
}

// Kill ends the process group: SIGTERM now, SIGKILL after KillGrace (also
// reaching grandchildren still in the group after the leader exited).
func (p *Proc) Kill(reason int) {
	p.mu.Lock()
	pid, running := p.pid, p.running
	if running && p.reason == reasonNone {
		p.reason = reason
	}
	p.mu.Unlock()
	if pid <= 0 {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	time.AfterFunc(KillGrace, func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
}

// Interrupt is the client-requested kill.
func (p *Proc) Interrupt() { p.Kill(reasonInterrupt) }

// Abandon is the kill for a client that left a foreground stream.
func (p *Proc) Abandon() { p.Kill(reasonInterrupt) }

func (p *Proc) fail(err error) {
	p.mu.Lock()
	p.started, p.finished = time.Now(), time.Now()
	p.reason, p.errMsg = reasonStartFailed, err.Error()
	p.exitCode = 127
	if errors.Is(err, fs.ErrPermission) {
		p.exitCode = 126
	}
	p.mu.Unlock()
	close(p.done)
	if p.onDone != nil {
		p.onDone(p)
	}
}

func (p *Proc) finish(ps *os.ProcessState) {
	p.mu.Lock()
	p.running, p.finished = false, time.Now()
	ws, _ := ps.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		p.exitCode = 128 + int(ws.Signal())
	default:
		p.exitCode = ws.ExitStatus()
	}
	switch p.reason {
	case reasonTimeout:
		p.errMsg = fmt.Sprintf("command timed out after %d ms", p.spec.Timeout.Milliseconds())
	case reasonInterrupt:
		p.errMsg = "command was interrupted"
	default:
		if ws.Signaled() {
			p.errMsg = "command was killed by signal " + ws.Signal().String()
		}
	}
	p.mu.Unlock()
	close(p.done)
	if p.onDone != nil {
		p.onDone(p)
	}
}

// Outcome describes the finished command; call after Done.
func (p *Proc) Outcome() Outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := Outcome{ExitCode: p.exitCode, Elapsed: p.finished.Sub(p.started)}
	if p.exitCode == 0 && p.reason == reasonNone {
		return o
	}
	ename := "CommandExitError"
	switch p.reason {
	case reasonTimeout:
		ename = "TimeoutError"
	case reasonInterrupt:
		ename = "Interrupted"
	case reasonStartFailed:
		ename = "CommandExecError"
	}
	o.Error = &stream.ErrorInfo{Ename: ename, Evalue: fmt.Sprint(p.exitCode), Traceback: []string{}}
	if p.errMsg != "" {
		o.Error.Traceback = []string{p.errMsg}
	}
	return o
}

// drainPipes lets the readers finish what an exited process wrote, then
// closes the pipes. The read deadline bounds the wait: a grandchild that
// inherited the write ends could otherwise keep them open forever.
func drainPipes(readers *sync.WaitGroup, pipes ...*os.File) {
	deadline := time.Now().Add(outputGrace)
	for _, pipe := range pipes {
		_ = pipe.SetReadDeadline(deadline)
	}
	readers.Wait()
	for _, pipe := range pipes {
		pipe.Close()
	}
}
