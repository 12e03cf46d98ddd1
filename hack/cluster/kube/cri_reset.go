package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	criclient "k8s.io/cri-client/pkg"
	"k8s.io/klog/v2"
)

// newCRIResetCommand stops and removes every pod sandbox of a CRI runtime.
// Stopping through CRI (not by killing tasks) lets containerd tear down each
// pod's network through CNI, so no veth, netns or IP lease outlives the
// cluster. Debian ships no crictl; this is the part of `crictl rmp -fa`
// that hack/cluster/down.sh needs.
func newCRIResetCommand() *cobra.Command {
	var endpoint string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:          "cri-reset",
		Short:        "Stop and remove all pod sandboxes of a CRI runtime",
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return criReset(cmd.Context(), endpoint, timeout)
		},
	}
	cmd.Flags().StringVar(&endpoint, "runtime-endpoint", "", "CRI socket, e.g. unix:///run/containerd/containerd.sock")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

func criReset(ctx context.Context, endpoint string, timeout time.Duration) error {
	if endpoint == "" {
		return errors.New("--runtime-endpoint is required")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	logger := klog.Background()
	// The connection timeout is also each call's timeout: stopping a pod
	// waits for its containers' grace period, so be generous.
	rs, err := criclient.NewRemoteRuntimeService(endpoint, time.Minute, nil, &logger)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", endpoint, err)
	}
	pods, err := rs.ListPodSandbox(ctx, nil)
	if err != nil {
		return fmt.Errorf("listing pod sandboxes: %w", err)
	}
	var errs []error
	for _, p := range pods {
		name := p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
		if p.GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
			if err := rs.StopPodSandbox(ctx, p.GetId()); err != nil {
				errs = append(errs, fmt.Errorf("stopping pod %s: %w", name, err))
				continue
			}
		}
		if err := rs.RemovePodSandbox(ctx, p.GetId()); err != nil {
			errs = append(errs, fmt.Errorf("removing pod %s: %w", name, err))
			continue
		}
		fmt.Printf("removed pod %s (%s)\n", name, p.GetId()[:12])
	}
	return errors.Join(errs...)
}
