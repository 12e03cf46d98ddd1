// Command containerd-shim-runsc-v1 is gVisor's containerd shim, built from
// the pinned gvisor.dev/gvisor `go` branch by hack/cluster/build.sh (which
// also applies the one build-time patch described there). It lets the
// cluster's containerd run a pod's containers in one gVisor sandbox.
//
// Current gVisor builds its shim on containerd 2's shim library, whose
// `start` action prints JSON bootstrap parameters
// ({"version":2,"address":"unix:///…","protocol":"ttrpc"}). Debian 12's
// containerd 1.6 expects the bare address and fails with "dial unix {…}:
// invalid argument". The task API itself (containerd.task.v2.Task over
// ttrpc) is what 1.6 speaks, so translating that one line is enough: `start`
// runs the shim as a child and prints only the address.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"gvisor.dev/gvisor/shim/v1/cli"
)

// innerEnv marks the child that performs the real `start`.
const innerEnv = "SANDHOLD_SHIM_START_INNER"

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[len(args)-1] == "start" && os.Getenv(innerEnv) == "" {
		os.Exit(start())
	}
	cli.Main()
}

// start runs `<self> <args…> start` and rewrites its stdout for containerd
// 1.x. It returns the exit code.
func start() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "containerd-shim-runsc-v1: finding own executable: %v\n", err)
		return 1
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), innerEnv+"=1")
	cmd.Stdin = os.Stdin
	cmd.Stderr = os.Stderr
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		os.Stdout.Write(out.Bytes()) //nolint:errcheck // best effort: containerd reports the failure
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return exitErr.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "containerd-shim-runsc-v1: running start: %v\n", err)
		return 1
	}
	var params struct {
		Address string `json:"address"`
	}
	if json.Unmarshal(bytes.TrimSpace(out.Bytes()), &params) == nil && params.Address != "" {
		fmt.Print(params.Address)
		return 0
	}
	os.Stdout.Write(out.Bytes()) //nolint:errcheck // already a bare address
	return 0
}
