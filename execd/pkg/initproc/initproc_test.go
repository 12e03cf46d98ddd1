package initproc

import (
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the supervised server: with this variable set
// it just waits for SIGTERM, like the real server.
const fakeServerEnv = "INITPROC_TEST_FAKE_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(fakeServerEnv) == "1" {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		<-sigs
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func config(entry ...string) Config {
	return Config{
		ServerArgs: []string{os.Args[0]}, ServerEnv: append(os.Environ(), fakeServerEnv+"=1"),
		Entrypoint: entry, EntryEnv: os.Environ(), StopTimeout: 3 * time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func TestExitsWithEntrypointStatus(t *testing.T) {
	start := time.Now()
	if code := Run(config("sh", "-c", "sleep 0.2; exit 7")); code != 7 {
		t.Fatalf("exit code %d, want 7", code)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("stopping the server took %v", time.Since(start))
	}
}

func TestMissingEntrypointIs127(t *testing.T) {
	if code := Run(config("definitely-not-a-command")); code != 127 {
		t.Fatalf("exit code %d, want 127", code)
	}
}

func TestSignalIsForwardedToEntrypoint(t *testing.T) {
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
	if code := Run(config("sleep", "30")); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit code %d, want 143", code)
	}
}
