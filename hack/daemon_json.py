#!/usr/bin/env python3
"""Edit the runtimes in dockerd's daemon.json without touching other keys.

Usage:
  hack/daemon_json.py set NAME PATH [RUNTIME_ARG...]   add or replace a runtime
  hack/daemon_json.py remove NAME                      drop a runtime
  hack/daemon_json.py show                             print the runtimes as JSON

The file is $DOCKER_DAEMON_JSON (default /etc/docker/daemon.json). It is
rewritten atomically and only when its content changes; the exit status is 0
either way, and "changed" or "unchanged" is printed so callers know whether
dockerd needs a SIGHUP.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

DEFAULT_PATH = "/etc/docker/daemon.json"


def load(path: Path) -> dict:
    """Return the daemon config; a missing or empty file is an empty config."""
    if not path.exists() or not path.read_text().strip():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SystemExit(f"error: {path} is not valid JSON ({err}); fix it by hand") from err
    if not isinstance(data, dict):
        raise SystemExit(f"error: {path} must hold a JSON object")
    return data


def save_if_changed(path: Path, before: dict, after: dict) -> bool:
    """Write `after` atomically when it differs from `before`."""
    if before == after and path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".daemon.json.")
    with os.fdopen(fd, "w") as out:
        json.dump(after, out, indent=2, sort_keys=True)
        out.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return True


def with_runtime(config: dict, name: str, binary: str, args: list[str]) -> dict:
    """Return a copy of `config` with runtime `name` set to `binary` + `args`."""
    entry: dict[str, object] = {"path": binary}
    if args:
        entry["runtimeArgs"] = args
    runtimes = dict(config.get("runtimes") or {})
    runtimes[name] = entry
    return {**config, "runtimes": runtimes}


def without_runtime(config: dict, name: str) -> dict:
    """Return a copy of `config` without runtime `name`.

    An empty "runtimes" object is kept: dockerd only drops runtimes on SIGHUP
    when the key is present.
    """
    runtimes = {k: v for k, v in (config.get("runtimes") or {}).items() if k != name}
    return {**config, "runtimes": runtimes}


def main(argv: list[str]) -> int:
    path = Path(os.environ.get("DOCKER_DAEMON_JSON", DEFAULT_PATH))
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    config = load(path)
    if command == "show":
        print(json.dumps(config.get("runtimes") or {}, indent=2, sort_keys=True))
        return 0
    if command == "set" and len(rest) >= 2:
        updated = with_runtime(config, rest[0], rest[1], rest[2:])
    elif command == "remove" and len(rest) == 1:
        updated = without_runtime(config, rest[0])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print("changed" if save_if_changed(path, config, updated) else "unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
