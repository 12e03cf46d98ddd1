// Package command runs shell commands and persistent shell sessions, each
// in its own process group, and keeps their status and background output.
// Clients only ever see random ids, never pids.
package command

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"syscall"
)

// Limits of what the manager keeps in memory.
const (
	// MaxFinished is how many finished commands keep their status (clients
	// read a foreground command's exit code after the stream ended).
	MaxFinished = 256
	// LogBytes bounds the kept output of one background command.
	LogBytes = 4 << 20
)

// Manager is the registry of commands.
type Manager struct {
	mu       sync.Mutex
	procs    map[string]*Proc
	finished []string
}

// NewManager returns an empty registry.
func NewManager() *Manager { return &Manager{procs: map[string]*Proc{}} }

// NewID returns a random id for commands and sessions.
func NewID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New registers a command that is not started yet, so its id can be
// announced before any output.
func (m *Manager) New(spec Spec) *Proc {
	p := &Proc{ID: NewID(), Content: spec.Command, spec: spec, done: make(chan struct{}), onDone: m.retire}
	if p.Content == "" {
		p.Content = joinArgv(spec.Argv)
	}
	if spec.Background {
		p.log = NewLineLog(LogBytes)
	}
	m.mu.Lock()
	m.procs[p.ID] = p
	m.mu.Unlock()
	return p
}

func joinArgv(argv []string) string {
	out := ""
	for i, a := range argv {
		if i > 0 {
			out += " "
		}
		out += a
	}
	return out
}

// retire keeps the status of a finished command, evicting the oldest
// finished ones beyond MaxFinished.
func (m *Manager) retire(p *Proc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished = append(m.finished, p.ID)
	for len(m.finished) > MaxFinished {
		delete(m.procs, m.finished[0])
		m.finished = m.finished[1:]
	}
}

// Get finds a command by id.
func (m *Manager) Get(id string) (*Proc, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.procs[id]
	return p, ok
}

// KillAll asks every running command group to stop (SIGTERM, then SIGKILL
// after KillGrace).
func (m *Manager) KillAll() { m.signalRunning(func(p *Proc) { p.Interrupt() }) }

// ForceKillAll SIGKILLs every group still running: the last step of a
// shutdown, which must not leave a process behind when execd exits.
func (m *Manager) ForceKillAll() {
	m.signalRunning(func(p *Proc) {
		p.mu.Lock()
		pid := p.pid
		p.mu.Unlock()
		if pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
}

func (m *Manager) signalRunning(fn func(*Proc)) {
	m.mu.Lock()
	procs := make([]*Proc, 0, len(m.procs))
	for _, p := range m.procs {
		procs = append(procs, p)
	}
	m.mu.Unlock()
	for _, p := range procs {
		if p.Status().Running {
			fn(p)
		}
	}
}
