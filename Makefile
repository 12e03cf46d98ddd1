# Sandhold: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VERSION := $(shell cat VERSION)
PYTHON ?= python3

.PHONY: help setup images execd demo serve test test-unit test-go test-engines test-k8s lint bench cluster cluster-down

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: ## install what is missing, start dockerd, register runsc, build the local images
	hack/setup-host.sh

images: ## (re)build sandhold/execd, sandhold/base and sandhold/busybox
	hack/build-images.sh all

execd: ## build the execd binary and image
	execd/build.sh

demo: setup ## set up this machine, start a gVisor server, run code in a sandbox with the official SDK
	hack/demo.sh

serve: ## run the server with ~/.sandbox.toml (or the file named by SANDBOX_CONFIG_PATH)
	sandhold serve

test: setup lint test-go test-engines test-k8s ## everything: lint, Go tests, unit, real dockerd (runc, runsc), local cluster

lint: ## ruff and go vet
	$(PYTHON) -m ruff check src tests bench hack
	$(PYTHON) -m ruff format --check src tests bench hack
	cd execd && go vet ./...

test-go: ## execd's Go tests
	cd execd && go test ./...

test-unit: ## pure-logic Python tests (no engine needed)
	$(PYTHON) -m pytest tests/unit -q

test-engines: ## Python tests: unit + real dockerd (runc and runsc) + official SDK/CLI (no cluster)
	$(PYTHON) -m pytest tests -ra -p no:cacheprovider --ignore=tests/k8s

test-k8s: cluster ## controller tests on the local Kubernetes cluster (started if needed)
	$(PYTHON) -m pytest tests/k8s -ra -p no:cacheprovider

bench: setup ## measure start-up and exec latency; results go to bench/results/
	bench/run.sh

cluster: ## start the local single-node Kubernetes cluster (gVisor RuntimeClass)
	hack/cluster/up.sh

cluster-down: ## stop the local cluster
	hack/cluster/down.sh
