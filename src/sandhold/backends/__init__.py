"""Engines that run sandboxes.

``base`` holds the domain model and the ``SandboxBackend`` protocol; one
sub-package per engine implements it (``docker``, ``kubernetes``). The API
layer only ever sees the protocol.
"""
