// Package initproc is `execd init`: PID 1 of a sandbox. It starts the execd
// server (its own binary, re-executed) and the user's entrypoint as
// children, forwards termination signals, reaps every orphan, and exits
// with the entrypoint's status once it ends.
package initproc

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Config describes what init runs.
type Config struct {
	ServerArgs  []string // argv of the server, argv[0] included
	ServerEnv   []string
	Entrypoint  []string // empty: run only the server
	EntryEnv    []string // must not contain the access token
	StopTimeout time.Duration
	Log         *slog.Logger
}

// Limits of the server restart loop: a crashing server is restarted so the
// sandbox stays reachable, but not in a tight loop.
const (
	restartDelay = time.Second
	maxRestarts  = 10
)

type supervisor struct {
	cfg        Config
	server     int
	entry      int
	restarts   int
	stopping   bool
	entryCode  int
	entryDone  bool
	serverCode int
	serverDone bool
}

// Run supervises until the entrypoint (or, without one, the server) exits
// and returns the exit code for main.
func Run(cfg Config) int {
	// As PID 1 we reap orphans anyway; outside a container (tests, manual
	// runs) becoming a subreaper gives the same behaviour.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGCHLD)
	defer signal.Stop(sigs)

	sv := &supervisor{cfg: cfg}
	var entryPath string
	if len(cfg.Entrypoint) > 0 {
		p, err := lookPath(cfg.Entrypoint[0], envValue(cfg.EntryEnv, "PATH"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "execd init: cannot start entrypoint %q: %v\n", cfg.Entrypoint[0], err)
			return 127
		}
		entryPath = p
	}
	if err := sv.startServer(); err != nil {
		fmt.Fprintf(os.Stderr, "execd init: cannot start the execd server: %v\n", err)
		return 1
	}
	if entryPath != "" {
		pid, err := start(entryPath, cfg.Entrypoint, cfg.EntryEnv)
		if err != nil {
			fmt.Fprintf(os.Stderr, "execd init: cannot start entrypoint %q: %v\n", cfg.Entrypoint[0], err)
			sv.stopServer(sigs)
			if errors.Is(err, fs.ErrPermission) {
				return 126
			}
			return 127
		}
		sv.entry = pid
	}
	return sv.loop(sigs)
}

func (sv *supervisor) startServer() error {
	pid, err := start("/proc/self/exe", sv.cfg.ServerArgs, sv.cfg.ServerEnv)
	if err != nil {
		return err
	}
	sv.server, sv.serverDone = pid, false
	return nil
}

// start runs a child in its own process group with init's stdio.
func start(path string, argv, env []string) (int, error) {
	p, err := os.StartProcess(path, argv, &os.ProcAttr{
		Env:   env,
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return 0, err
	}
	pid := p.Pid
	_ = p.Release() // reaped by our own wait4(-1) loop, never by os.Process
	return pid, nil
}

func (sv *supervisor) loop(sigs chan os.Signal) int {
	tick := time.NewTicker(time.Second) // safety net for coalesced SIGCHLDs
	defer tick.Stop()
	for {
		select {
		case sig := <-sigs:
			if sig != syscall.SIGCHLD {
				sv.forward(sig.(syscall.Signal))
			}
		case <-tick.C:
		}
		sv.reap()
		if sv.entry != 0 && sv.entryDone {
			sv.stopServer(sigs)
			return sv.entryCode
		}
		if sv.serverDone {
			if sv.entry == 0 || sv.stopping {
				if sv.entry == 0 {
					return sv.serverCode
				}
				continue
			}
			sv.restartServer()
		}
	}
}

func (sv *supervisor) forward(sig syscall.Signal) {
	if sig == syscall.SIGTERM || sig == syscall.SIGINT {
		sv.stopping = true
	}
	if sv.entry != 0 && !sv.entryDone {
		// The whole group: a shell entrypoint that does not forward
		// signals must not keep its children alive.
		_ = syscall.Kill(-sv.entry, sig)
	}
	if !sv.serverDone {
		_ = syscall.Kill(sv.server, sig)
	}
}

func (sv *supervisor) restartServer() {
	if sv.restarts >= maxRestarts {
		sv.cfg.Log.Error("execd server keeps exiting; not restarting it again", "restarts", sv.restarts)
		sv.stopping = true
		return
	}
	sv.restarts++
	sv.cfg.Log.Warn("execd server exited; restarting it", "code", sv.serverCode, "restart", sv.restarts)
	time.Sleep(restartDelay)
	if err := sv.startServer(); err != nil {
		sv.cfg.Log.Error("restarting the execd server failed", "error", err)
		sv.stopping = true
	}
}

// reap collects every exited child: ours are recorded, orphans just freed.
func (sv *supervisor) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		switch pid {
		case sv.entry:
			sv.entryDone, sv.entryCode = true, code
		case sv.server:
			sv.serverDone, sv.serverCode = true, code
		}
	}
}

// stopServer sends SIGTERM, waits up to StopTimeout, then SIGKILLs.
func (sv *supervisor) stopServer(sigs chan os.Signal) {
	if sv.serverDone {
		return
	}
	_ = syscall.Kill(sv.server, syscall.SIGTERM)
	deadline := time.After(sv.cfg.StopTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !sv.serverDone {
		select {
		case <-deadline:
			_ = syscall.Kill(-sv.server, syscall.SIGKILL)
			_ = syscall.Kill(sv.server, syscall.SIGKILL)
			deadline = nil
		case <-sigs:
		case <-tick.C:
		}
		sv.reap()
	}
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExec(name)
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if checkExec(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found in PATH %s", pathEnv)
}

func checkExec(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file: %w", p, fs.ErrPermission)
	}
	return nil
}
