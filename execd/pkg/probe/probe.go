// Package probe is `execd probe`: one JSON line describing the kernel the
// sandbox really runs on. The server's startup canary runs it under the
// configured runtime to prove the isolation is in force (gVisor reports its
// own kernel release and a kernel log starting with "Starting gVisor...").
package probe

import (
	"encoding/json"
	"io"
	"strings"
	"syscall"
)

// Result is the probe's output line.
type Result struct {
	KernelRelease string `json:"kernel_release"`
	DmesgHead     string `json:"dmesg_head"`
}

// dmesgLines is how much of the kernel log is reported: its start is what
// identifies the kernel.
const dmesgLines = 5

// Run writes the probe result as one JSON line.
func Run(w io.Writer) error {
	return json.NewEncoder(w).Encode(Result{KernelRelease: kernelRelease(), DmesgHead: dmesgHead()})
}

func kernelRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// dmesgHead reads the kernel ring buffer (syslog(2) READ_ALL). Without
// CAP_SYSLOG, as in a default runc container, this is empty.
func dmesgHead() string {
	const readAll = 3
	buf := make([]byte, 64<<10)
	n, err := syscall.Klogctl(readAll, buf)
	if err != nil || n <= 0 {
		return ""
	}
	lines := strings.SplitN(string(buf[:n]), "\n", dmesgLines+1)
	if len(lines) > dmesgLines {
		lines = lines[:dmesgLines]
	}
	return strings.Join(lines, "\n")
}
