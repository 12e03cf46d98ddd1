"""The named volume that carries the execd binary into every sandbox.

``sandhold-execd-<version>`` is filled once from the execd image and mounted
read-only at ``/opt/sandhold`` in every sandbox, so any image works without
being rebuilt. Filling it needs no running container: creating (not
starting) a helper container from the execd image with the empty volume
mounted at ``/opt/sandhold`` makes Docker copy the image's content into it.
Docker copies only into an EMPTY volume, so running ``ensure`` again, or two
callers at once, is harmless: it also repairs a volume left empty by a crash
between creating the volume and filling it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import uuid

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.utils import parse_repository_tag

from sandhold.backends.docker import labels
from sandhold.backends.docker.spec import EXECD_BIN, EXECD_MOUNT
from sandhold.errors import BackendUnavailable

log = logging.getLogger(__name__)

# The helper never starts, but Docker still wants a runtime: state it, so a
# daemon whose default runtime is something else is never asked.
HELPER_RUNTIME = "runc"
EXECD_IMAGE_MISSING = "BACKEND::EXECD_IMAGE_MISSING"

_fill_lock = threading.Lock()


def volume_name(execd_image: str) -> str:
    """``sandhold-execd-<tag>`` (``sandhold/execd:0.1.0`` -> ``sandhold-execd-0.1.0``)."""
    _, tag = parse_repository_tag(execd_image)
    tag = tag or "latest"
    return "sandhold-execd-" + re.sub(r"[^A-Za-z0-9_.-]", "-", tag)


def ensure_execd_volume(client: docker.DockerClient, execd_image: str) -> str:
    """Make sure the execd volume exists and is filled; returns its name.

    Blocking (call from a worker thread). Idempotent and safe with
    concurrent callers, in this process and others.

    Raises:
        BackendUnavailable: the execd image is not present locally.
    """
    name = volume_name(execd_image)
    with _fill_lock:
        image_id = _execd_image_id(client, execd_image)
        _drop_if_stale(client, name, image_id)
        client.volumes.create(
            name=name,
            labels={labels.MANAGED_BY: labels.MANAGED_BY_VALUE, labels.EXECD_IMAGE_ID: image_id},
        )
        _fill(client, execd_image, name)
    return name


def _execd_image_id(client: docker.DockerClient, execd_image: str) -> str:
    try:
        return client.images.get(execd_image).id
    except ImageNotFound:
        raise BackendUnavailable(
            f"the execd image {execd_image!r} is not present in dockerd: build it with "
            "`make images` (or set [runtime] execd_image to an image that exists)",
            code=EXECD_IMAGE_MISSING,
        ) from None


def _drop_if_stale(client: docker.DockerClient, name: str, image_id: str) -> None:
    """An unused volume not filled from this exact image is replaced."""
    try:
        volume = client.volumes.get(name)
    except NotFound:
        return
    filled_from = (volume.attrs.get("Labels") or {}).get(labels.EXECD_IMAGE_ID)
    if filled_from == image_id:
        return
    # Otherwise: filled from another build, or made by Docker itself (no
    # label: auto-created empty by a mount after the volume was pruned).
    users = client.containers.list(all=True, filters={"volume": name})
    if users:
        log.warning(
            "volume %s holds execd from image %s, not the current %s; %d container(s) "
            "still use it, so it is kept: new sandboxes get the old execd until it is "
            "removed (`docker volume rm %s` once they are gone)",
            name,
            filled_from,
            image_id,
            len(users),
            name,
        )
        return
    try:
        volume.remove()
        log.info("removed stale execd volume %s (filled from %s)", name, filled_from)
    except APIError as exc:  # a container started using it meanwhile: keep it
        log.warning("could not replace stale execd volume %s: %s", name, exc)


def _fill(client: docker.DockerClient, execd_image: str, name: str) -> None:
    helper = client.containers.create(
        execd_image,
        command=[EXECD_BIN],  # never run; the image has no CMD of its own
        name=f"sandhold-execd-fill-{uuid.uuid4().hex[:12]}",
        runtime=HELPER_RUNTIME,
        network_disabled=True,
        labels={labels.MANAGED_BY: labels.MANAGED_BY_VALUE},
        volumes={name: {"bind": EXECD_MOUNT, "mode": "rw"}},
    )
    with contextlib.suppress(NotFound):
        helper.remove(force=True)
