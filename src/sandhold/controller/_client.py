"""The only code that talks to the API server.

Thin REST calls that send and return plain dicts exactly as the API speaks
them (camelCase keys). Raw requests rather than the generated models: the
models refuse fields they do not know, and a pod template may carry fields
newer than the client. NotFound on a gone object is success; a lost
optimistic-concurrency race is ``False``, not an exception.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sandhold.controller import _constants as c

Obj = dict[str, Any]

# Client-side bound on every call (seconds): a hung API server must not hang a
# reconcile; the next resync retries.
REQUEST_TIMEOUT = 30

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"


def load_config(kubeconfig: str | None) -> client.ApiClient:
    """An API client: the kubeconfig file when given, else in-cluster, else ~/.kube."""
    if kubeconfig is None:
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            pass
    config.load_kube_config(config_file=kubeconfig)
    return client.ApiClient()


def _crd_path(plural: str, namespace: str | None, name: str | None = None) -> str:
    base = f"/apis/{c.GROUP}/{c.VERSION}"
    path = f"{base}/namespaces/{quote(namespace)}/{plural}" if namespace else f"{base}/{plural}"
    return f"{path}/{quote(name)}" if name else path


def _pod_path(namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{quote(namespace)}/pods"
    return f"{path}/{quote(name)}" if name else path


def api_message(exc: ApiException) -> str:
    """The API server's own message from an error response (its Status object)."""
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.reason)


class Kube:
    """Pods, BatchSandboxes and Pools in one or all namespaces."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Obj | None = None,
        query: dict[str, str] | None = None,
        content_type: str = JSON,
        ok_statuses: tuple[int, ...] = (),
    ) -> Obj | None:
        """One HTTP call; returns the decoded body, or None for an ``ok_statuses`` error."""
        headers = {"Accept": JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        method_, url, headers, payload, _ = self.api.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        resp = self.api.call_api(method_, url, headers, payload, _request_timeout=REQUEST_TIMEOUT)
        resp.read()
        if 200 <= resp.status <= 299:
            return json.loads(resp.data) if resp.data else {}
        if resp.status in ok_statuses:
            return None
        raise ApiException.from_response(http_resp=resp, body=resp.data.decode(), data=None)

    # -- custom resources -------------------------------------------------------

    def get(self, plural: str, namespace: str, name: str) -> Obj | None:
        return self._request("GET", _crd_path(plural, namespace, name), ok_statuses=(404,))

    def list(self, plural: str, namespace: str | None) -> list[Obj]:
        return (self._request("GET", _crd_path(plural, namespace)) or {}).get("items", [])

    def patch_status(self, plural: str, namespace: str, name: str, status: Obj) -> None:
        path = _crd_path(plural, namespace, name) + "/status"
        self._request(
            "PATCH", path, body={"status": status}, content_type=MERGE_PATCH, ok_statuses=(404,)
        )

    def patch_annotations(
        self, plural: str, namespace: str, name: str, annotations: dict[str, str]
    ) -> None:
        body = {"metadata": {"annotations": annotations}}
        self._request(
            "PATCH",
            _crd_path(plural, namespace, name),
            body=body,
            content_type=MERGE_PATCH,
            ok_statuses=(404,),
        )

    def delete(self, plural: str, namespace: str, name: str, uid: str) -> None:
        """Delete only the incarnation with ``uid`` (a re-created namesake survives)."""
        body = {"preconditions": {"uid": uid}, "propagationPolicy": "Background"}
        self._request(
            "DELETE", _crd_path(plural, namespace, name), body=body, ok_statuses=(404, 409)
        )

    # -- pods -------------------------------------------------------------------

    def list_pods(self, namespace: str, selector: str) -> list[Obj]:
        found = self._request("GET", _pod_path(namespace), query={"labelSelector": selector})
        return (found or {}).get("items", [])

    def create_pod(self, namespace: str, body: Obj) -> Obj | None:
        """Create a pod; None when a pod of that fixed name already exists."""
        return self._request("POST", _pod_path(namespace), body=body, ok_statuses=(409,))

    def delete_pod(self, namespace: str, name: str) -> None:
        self._request("DELETE", _pod_path(namespace, name), ok_statuses=(404,))

    def claim_pod(self, namespace: str, name: str, patch: Obj) -> bool:
        """Apply a merge patch that carries ``metadata.resourceVersion``.

        The API server applies it only if the pod is still at that version, so
        of two concurrent claims on one pod exactly one wins.

        Returns:
            True when applied; False when the pod changed or vanished meanwhile.
        """
        if not patch.get("metadata", {}).get("resourceVersion"):
            raise ValueError("claim_pod needs metadata.resourceVersion in the patch")
        done = self._request(
            "PATCH",
            _pod_path(namespace, name),
            body=patch,
            content_type=MERGE_PATCH,
            ok_statuses=(404, 409),
        )
        return done is not None
