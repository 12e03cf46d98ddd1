"""Docker Engine backend: one container per sandbox, labels are the state.

``DockerBackend`` is the only public name; the modules behind it are
``spec`` (pure container spec), ``labels`` (label keys), ``state`` (pure
state mapping), ``execd_volume``, ``overlay`` (renew / metadata store),
``expiry`` (TTL timers), ``creating`` and ``engine`` (threads, client).
"""

from sandhold.backends.docker.backend import DockerBackend

__all__ = ["DockerBackend"]
