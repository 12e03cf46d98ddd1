"""The mutable part of a sandbox (current expiry, metadata) in host files.

Decision: Docker labels are immutable after create, and nothing the
untrusted sandbox can write (its filesystem, its env, a volume it mounts)
may hold its own expiry or metadata. So the two values that change after
create live beside the engine, on the server host: one small JSON file per
sandbox under ``[docker] state_dir`` (``<state_dir>/docker/<server name>/<id>.json``).

- Labels stay the source of truth for everything set at create; a missing or
  unreadable overlay file falls back to them (a lost file at worst undoes a
  renew or a metadata patch, it never loses a sandbox).
- Files are written atomically (temporary file, fsync, rename) and removed
  with the sandbox; ``start`` prunes files whose container is gone.
- Alternatives weighed: recreating the container to change labels (loses
  the running process), a label-only scheme (cannot express a renew), a
  Docker volume or config object per sandbox (another engine object to leak
  and clean up, no better durability than a host file).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

_SUFFIX = ".json"


@dataclass(frozen=True)
class Overlay:
    """Current values that override the create-time labels."""

    expires_at: datetime | None
    metadata: dict[str, str]


class OverlayStore:
    """One JSON file per sandbox id. Blocking: call from a worker thread."""

    def __init__(self, state_dir: str | os.PathLike[str], instance: str = "default") -> None:
        # One folder per server name: a server prunes files of sandboxes it
        # no longer sees, so it must only ever look at its own.
        self.directory = Path(state_dir) / "docker" / instance

    def ensure_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, sandbox_id: str) -> Path:
        return self.directory / f"{sandbox_id}{_SUFFIX}"

    def read(self, sandbox_id: str) -> Overlay | None:
        """The stored overlay, or None when absent or unreadable (labels win)."""
        path = self._path(sandbox_id)
        try:
            data = json.loads(path.read_text())
            expires = data["expires_at"]
            return Overlay(
                expires_at=datetime.fromisoformat(expires) if expires else None,
                metadata={str(k): str(v) for k, v in data["metadata"].items()},
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable sandbox state file %s: %s", path, exc)
            return None

    def write(self, sandbox_id: str, overlay: Overlay) -> None:
        """Replace the overlay atomically (a reader sees the old or the new file)."""
        self.ensure_directory()
        body = json.dumps(
            {
                "expires_at": overlay.expires_at.isoformat() if overlay.expires_at else None,
                "metadata": overlay.metadata,
            },
            sort_keys=True,
        )
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{sandbox_id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self._path(sandbox_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, sandbox_id: str) -> None:
        self._path(sandbox_id).unlink(missing_ok=True)

    def stored_ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return [p.name[: -len(_SUFFIX)] for p in self.directory.glob(f"*{_SUFFIX}")]
