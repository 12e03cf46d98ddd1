// Command execd is the agent inside every Sandhold sandbox: the execd HTTP
// API (`execd`), PID 1 supervising that API and the user's entrypoint
// (`execd init -- <entrypoint...>`), or the runtime canary (`execd probe`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sandhold.dev/execd/pkg/command"
	"sandhold.dev/execd/pkg/initproc"
	"sandhold.dev/execd/pkg/probe"
	"sandhold.dev/execd/pkg/server"
)

// version is set at link time (-X main.version=...).
var version = "dev"

// shutdownTimeout is the hard bound on a graceful stop: after it, open
// connections are closed regardless.
const shutdownTimeout = 5 * time.Second

type config struct {
	Port        int
	AccessToken string
	LogLevel    string
	Version     bool
}

func parseFlags(name string, args []string) (config, []string, error) {
	cfg := config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.IntVar(&cfg.Port, "port", 44772, "TCP port of the execd API")
	fs.StringVar(&cfg.AccessToken, "access-token", "", "token required in header X-EXECD-ACCESS-TOKEN (default: env "+command.TokenEnv+"; empty = open)")
	fs.StringVar(&cfg.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&cfg.Version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if cfg.AccessToken == "" {
		cfg.AccessToken = os.Getenv(command.TokenEnv)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return cfg, nil, fmt.Errorf("--port %d is not in 1-65535", cfg.Port)
	}
	return cfg, fs.Args(), nil
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "probe" {
		if err := probe.Run(os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "execd probe:", err)
			os.Exit(1)
		}
		return
	}
	initMode := len(args) > 0 && args[0] == "init"
	if initMode {
		args = args[1:]
	}
	cfg, rest, err := parseFlags(os.Args[0], args)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "execd:", err)
		os.Exit(2)
	}
	if cfg.Version {
		fmt.Println("execd", version)
		return
	}
	log, err := newLogger(cfg.LogLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "execd:", err)
		os.Exit(2)
	}
	if initMode {
		os.Exit(runInit(cfg, rest, log))
	}
	if err := run(cfg, log); err != nil {
		log.Error("execd stopped", "error", err)
		os.Exit(1)
	}
}

// runInit starts the server as a child with the token in its environment
// (never on its command line) and the entrypoint without it.
func runInit(cfg config, entrypoint []string, log *slog.Logger) int {
	serverArgs := []string{os.Args[0], "--port", strconv.Itoa(cfg.Port), "--log-level", cfg.LogLevel}
	var serverEnv, entryEnv []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, command.TokenEnv+"=") {
			continue
		}
		serverEnv = append(serverEnv, kv)
		entryEnv = append(entryEnv, kv)
	}
	if cfg.AccessToken != "" {
		serverEnv = append(serverEnv, command.TokenEnv+"="+cfg.AccessToken)
	}
	return initproc.Run(initproc.Config{
		ServerArgs: serverArgs, ServerEnv: serverEnv, Entrypoint: entrypoint,
		EntryEnv: entryEnv, StopTimeout: shutdownTimeout + time.Second, Log: log,
	})
}

func run(cfg config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("listening on port %d: %w", cfg.Port, err)
	}
	srv := server.New(cfg.AccessToken, log)
	// Request contexts derive from base: cancelling it on shutdown ends every
	// stream and, with it, the commands that fed them.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("execd listening", "port", cfg.Port, "version", version, "auth", cfg.AccessToken != "")

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("execd shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- hs.Shutdown(shutCtx) }()
	cancelBase()
	srv.Commands.KillAll()
	srv.Sessions.CloseAll()
	if err := <-done; err != nil {
		_ = hs.Close()
		log.Warn("forced close after shutdown timeout", "error", err)
	}
	srv.Commands.ForceKillAll()
	return nil
}
