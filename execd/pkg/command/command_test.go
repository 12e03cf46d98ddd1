package command

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type collected struct {
	mu    sync.Mutex
	lines []string
}

func (c *collected) sink(stream, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, stream+":"+line)
}

func (c *collected) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

func waitDone(t *testing.T, p *Proc) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("command did not finish")
	}
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// A zombie still answers kill(0); it is gone as far as we care.
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(data), ") Z ")
}

func TestRunCollectsLinesAndExitCode(t *testing.T) {
	m := NewManager()
	p := m.New(Spec{Command: "echo out; echo err >&2; exit 4"})
	var c collected
	if err := p.Start(BaseEnv(), c.sink); err != nil {
		t.Fatal(err)
	}
	waitDone(t, p)
	got := strings.Join(c.all(), ",")
	if !strings.Contains(got, "stdout:out") || !strings.Contains(got, "stderr:err") {
		t.Fatalf("lines %q", got)
	}
	o := p.Outcome()
	if o.ExitCode != 4 || o.Error == nil || o.Error.Evalue != "4" {
		t.Fatalf("outcome %+v", o)
	}
	if st := p.Status(); st.Running || st.ExitCode == nil || *st.ExitCode != 4 {
		t.Fatalf("status %+v", st)
	}
}

func TestTokenNeverReachesCommands(t *testing.T) {
	t.Setenv(TokenEnv, "secret")
	p := NewManager().New(Spec{Command: "env", Env: map[string]string{TokenEnv: "x", "A": "b"}})
	var c collected
	_ = p.Start(BaseEnv(), c.sink)
	waitDone(t, p)
	out := strings.Join(c.all(), "\n")
	if strings.Contains(out, TokenEnv) || !strings.Contains(out, "stdout:A=b") {
		t.Fatalf("env output: %s", out)
	}
}

// A command that spawns a grandchild: an interrupt must end both.
func TestInterruptKillsTheWholeGroup(t *testing.T) {
	pidFile := t.TempDir() + "/grandchild.pid"
	p := NewManager().New(Spec{Command: "sleep 300 & echo $! > " + pidFile + "; wait"})
	if err := p.Start(BaseEnv(), nil); err != nil {
		t.Fatal(err)
	}
	var grandchild int
	deadline := time.Now().Add(5 * time.Second)
	for grandchild == 0 && time.Now().Before(deadline) {
		data, _ := os.ReadFile(pidFile)
		grandchild, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		time.Sleep(20 * time.Millisecond)
	}
	if grandchild == 0 || !alive(grandchild) {
		t.Fatalf("grandchild not started (pid %d)", grandchild)
	}
	leader := p.pid
	p.Interrupt()
	waitDone(t, p)
	deadline = time.Now().Add(KillGrace + 2*time.Second)
	for alive(grandchild) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(grandchild) || alive(leader) {
		t.Fatalf("still alive: leader %v grandchild %v", alive(leader), alive(grandchild))
	}
	if o := p.Outcome(); o.Error == nil || o.Error.Ename != "Interrupted" {
		t.Fatalf("outcome %+v", o)
	}
}

func TestTimeoutEndsCommand(t *testing.T) {
	p := NewManager().New(Spec{Command: "sleep 30", Timeout: 200 * time.Millisecond})
	start := time.Now()
	_ = p.Start(BaseEnv(), nil)
	waitDone(t, p)
	if time.Since(start) > 3*time.Second {
		t.Fatalf("timeout took %v", time.Since(start))
	}
	if o := p.Outcome(); o.Error == nil || o.Error.Ename != "TimeoutError" || o.ExitCode == 0 {
		t.Fatalf("outcome %+v", o)
	}
}

func TestBackgroundGrandchildDoesNotHoldTheStream(t *testing.T) {
	p := NewManager().New(Spec{Command: "sleep 30 & echo started"})
	_ = p.Start(BaseEnv(), nil)
	select {
	case <-p.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("a grandchild holding stdout kept the command open")
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
}

func TestStartFailureIs127(t *testing.T) {
	p := NewManager().New(Spec{Argv: []string{"definitely-not-a-command"}})
	if err := p.Start(BaseEnv(), nil); err == nil {
		t.Fatal("expected a start error")
	}
	waitDone(t, p)
	if o := p.Outcome(); o.ExitCode != 127 || o.Error == nil {
		t.Fatalf("outcome %+v", o)
	}
}

func TestValidate(t *testing.T) {
	env := []string{"HOME=/tmp", "PATH=/bin"}
	bad := []Spec{
		{},
		{Command: "x", Argv: []string{"y"}},
		{Argv: []string{""}},
		{Command: "x", GID: new(uint32)},
		{Command: "x", Cwd: "/definitely/missing"},
		{Command: "x", Cwd: "$NOPE/x"},
	}
	for i, s := range bad {
		if err := s.Validate(env); err == nil {
			t.Errorf("case %d: expected an error for %+v", i, s)
		}
	}
	ok := Spec{Command: "x", Cwd: "~"}
	if err := ok.Validate(env); err != nil || ok.Cwd != "/tmp" {
		t.Fatalf("~ expansion: %v %q", err, ok.Cwd)
	}
}

func TestLineLogCursor(t *testing.T) {
	l := NewLineLog(12)
	for _, s := range []string{"aaa", "bbb", "ccc", "ddd"} {
		l.Append(s)
	}
	text, next := l.Since(0)
	if next != 4 || text != "bbb\nccc\nddd\n" {
		t.Fatalf("since 0 = %q, %d", text, next)
	}
	if text, next = l.Since(3); text != "ddd\n" || next != 4 {
		t.Fatalf("since 3 = %q, %d", text, next)
	}
	if text, _ = l.Since(9); text != "" {
		t.Fatalf("since 9 = %q", text)
	}
}

func TestSessionKeepsStateAndExitCodes(t *testing.T) {
	r := NewSessions()
	defer r.CloseAll()
	s, err := r.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) ([]string, Outcome) {
		var c collected
		o, err := s.RunWithStart(context.Background(), cmd, "", 5*time.Second, func() {}, c.sink)
		if err != nil {
			t.Fatal(err)
		}
		return c.all(), o
	}
	run("export V=kept; cd /")
	lines, o := run(`echo "$V"; pwd; printf tail`)
	if strings.Join(lines, ",") != "stdout:kept,stdout:/,stdout:tail" || o.Error != nil {
		t.Fatalf("lines %q outcome %+v", lines, o)
	}
	if _, o = run("(exit 5)"); o.ExitCode != 5 {
		t.Fatalf("exit code %d", o.ExitCode)
	}
}

func TestSessionTimeoutRestartsShell(t *testing.T) {
	r := NewSessions()
	defer r.CloseAll()
	s, _ := r.Create("")
	o, err := s.RunWithStart(context.Background(), "sleep 30", "", 300*time.Millisecond, func() {}, nil)
	if err != nil || o.Error == nil || o.Error.Ename != "TimeoutError" {
		t.Fatalf("timeout run: %v %+v", err, o)
	}
	var c collected
	o, err = s.RunWithStart(context.Background(), "echo again", "", 5*time.Second, func() {}, c.sink)
	if err != nil || o.Error != nil || strings.Join(c.all(), ",") != "stdout:again" {
		t.Fatalf("after restart: %v %+v %q", err, o, c.all())
	}
}
