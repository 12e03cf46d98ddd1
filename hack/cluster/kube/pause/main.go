// Command pause is the pod sandbox ("infra") process of the local cluster:
// it holds the pod's namespaces open, reaps zombies when it is PID 1 of a
// shared PID namespace, and exits 0 on SIGINT or SIGTERM. No registry is
// reachable, so hack/cluster/up.sh builds it into a FROM-scratch image
// instead of pulling registry.k8s.io/pause.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
