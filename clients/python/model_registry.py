"""A Python client for the Model Registry, for training pipelines and inference workers.

Standard library only (Python 3.9+): copy this one file next to your training script, or put
``clients/python`` on ``PYTHONPATH``. Everything goes through the registry's public GraphQL API
and HTTP routes::

    from model_registry import Registry

    registry = Registry("http://127.0.0.1:4000", token)
    version = registry.push("churn", ["model.pkl"], metrics={"roc_auc": 0.91},
                            params={"max_depth": 12}, dataset="customers-2026-11")
    registry.promote(version, reason="weekly retrain")
    registry.pull("churn", "production", "/srv/models/churn")

Errors are :class:`RegistryError` subclasses carrying the server's ``extensions.code``. Tokens and
presigned URLs never appear in exception messages or in this module's log records.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import json
import logging
import math
import os
import random
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

__all__ = [
    "Registry", "Version", "Artifact", "Deployment", "Comparison", "PulledVersion",
    "RegistryError", "BadInputError", "NotFoundError", "ConflictError", "FailedPreconditionError",
    "AuthError", "UnauthenticatedError", "ForbiddenError", "TransferError", "IntegrityError",
]

log = logging.getLogger("model_registry")

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")

CHUNK = 1 << 20
PARALLEL_TRANSFERS = 4
RETRY_ATTEMPTS = 5


# --------------------------------------------------------------------------------------------
# Errors


class RegistryError(Exception):
    """An error from the registry (``code`` is its ``extensions.code``) or from this client.

    Codes from the server: BAD_USER_INPUT, NOT_FOUND, CONFLICT, FAILED_PRECONDITION,
    UNAUTHENTICATED, FORBIDDEN, INTERNAL_SERVER_ERROR. Codes of this client: TRANSFER_FAILED
    (network or storage errors after the retries) and INTEGRITY_MISMATCH (a file's size or
    sha256 differs from what the registry recorded).
    """

    def __init__(self, message: str, code: str = "INTERNAL_SERVER_ERROR", status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


class BadInputError(RegistryError):
    """BAD_USER_INPUT: the input breaks a rule; nothing was written."""


class NotFoundError(RegistryError):
    """NOT_FOUND: the model, version, deployment or file does not exist (or is outside the token's scope)."""


class ConflictError(RegistryError):
    """CONFLICT: a duplicate, a compare-and-set that lost, or an idempotency key reused with another input."""


class FailedPreconditionError(RegistryError):
    """FAILED_PRECONDITION: the state forbids it (not READY, nothing to roll back to, improvement policy not met)."""


class AuthError(RegistryError):
    """The token is not accepted (UNAUTHENTICATED) or not allowed to do this (FORBIDDEN)."""


class UnauthenticatedError(AuthError):
    """UNAUTHENTICATED: missing, unknown, expired or revoked token."""


class ForbiddenError(AuthError):
    """FORBIDDEN: the token's role or model scope does not allow the operation."""


class TransferError(RegistryError):
    """TRANSFER_FAILED: the network or the storage failed, also after the retries."""


class IntegrityError(RegistryError):
    """INTEGRITY_MISMATCH: downloaded (or uploaded) bytes differ from the recorded size or sha256."""


_ERRORS_BY_CODE = {
    "BAD_USER_INPUT": BadInputError,
    "NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "UNAUTHENTICATED": UnauthenticatedError,
    "FORBIDDEN": ForbiddenError,
}


def _error(message: str, code: str, status: Optional[int] = None) -> RegistryError:
    return _ERRORS_BY_CODE.get(code, RegistryError)(message, code, status)


class _Retryable(Exception):
    """A failure worth another attempt (network error or HTTP 5xx); its message names no URL."""


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Artifact:
    """One file of a version, as the registry recorded it."""

    path: str
    size_bytes: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class Version:
    """A model version. ``metrics`` keeps the registered order; ``raw`` is the GraphQL answer."""

    id: str
    model: str
    number: int
    status: str
    model_type: str
    dataset_version: str
    metrics: Dict[str, float]
    hyperparameters: Dict[str, Any]
    feature_names: List[str]
    tags: List[str]
    description: Optional[str]
    environments: List[str]
    artifacts: List[Artifact]
    failure_reason: Optional[str]
    created_at: str
    created_by: str
    raw: Dict[str, Any] = field(repr=False, compare=False)

    @staticmethod
    def from_graphql(v: Mapping[str, Any]) -> "Version":
        return Version(
            id=v["id"], model=v["modelName"], number=v["number"], status=v["status"], model_type=v["modelType"],
            dataset_version=v["datasetVersion"], metrics={m["name"]: m["value"] for m in v["metrics"]},
            hyperparameters=v["hyperparameters"], feature_names=list(v["featureNames"]), tags=list(v["tags"]),
            description=v.get("description"), environments=list(v["environments"]),
            artifacts=[Artifact(a["path"], int(a["sizeBytes"]), a["sha256"], a["contentType"]) for a in v["artifacts"]],
            failure_reason=v.get("failureReason"), created_at=v["createdAt"], created_by=v["createdBy"], raw=dict(v),
        )


@dataclass(frozen=True)
class Deployment:
    """A promotion or rollback: what it put in place and what it replaced."""

    id: str
    model: str
    environment: str
    action: str
    status: str
    version_id: str
    version_number: int
    previous_version_id: Optional[str]
    reason: Optional[str]
    failure_reason: Optional[str]
    deployed_at: str
    deployed_by: str
    active: bool

    @staticmethod
    def from_graphql(d: Mapping[str, Any]) -> "Deployment":
        previous = d.get("previousVersion")
        return Deployment(
            id=d["id"], model=d["modelName"], environment=d["environment"], action=d["action"], status=d["status"],
            version_id=d["version"]["id"], version_number=d["version"]["number"],
            previous_version_id=previous["id"] if previous else None, reason=d.get("reason"),
            failure_reason=d.get("failureReason"), deployed_at=d["deployedAt"], deployed_by=d["deployedBy"], active=d["active"],
        )


@dataclass(frozen=True)
class Comparison:
    """One row of :meth:`Registry.compare`: rank 1 is best by the chosen metric and direction."""

    rank: int
    version: Version
    value: Optional[float]
    delta_vs_production: Optional[float]


@dataclass(frozen=True)
class PulledVersion:
    """What :meth:`Registry.pull` wrote: the resolved version and the local path of each verified file."""

    model: str
    version_id: str
    number: int
    status: str
    environment: Optional[str]
    files: Dict[str, Path]


# --------------------------------------------------------------------------------------------
# GraphQL documents


_VERSION_FIELDS = """
fragment V on ModelVersion {
  id modelName number status modelType datasetVersion description failureReason createdAt createdBy
  metrics { name value } hyperparameters featureNames tags environments
  artifacts { path sizeBytes sha256 contentType }
}"""
_DEPLOYMENT_FIELDS = """
fragment D on Deployment {
  id modelName environment action status reason failureReason deployedAt deployedBy active
  version { id number } previousVersion { id number }
}"""
_PARTS = "parts { partSizeBytes parts { partNumber etag upload { url method headers { name value } expiresAt } } }"
_REGISTER = """mutation Register($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) {
  version { ...V } uploads { path upload { url method headers { name value } } """ + _PARTS + """ } } }""" + _VERSION_FIELDS
_UPLOAD_PLAN = "query Plan($size: Float!) { uploadPlan(sizeBytes: $size) { inParts partSizeBytes partCount } }"
_REISSUE = """mutation Reissue($id: ID!, $paths: [String!], $parts: [Int!]) {
  createUploadUrls(versionId: $id, paths: $paths, partNumbers: $parts) { path """ + _PARTS + """ } }"""
_COMPLETE = """mutation Complete($id: ID!, $parts: [ArtifactPartsInput!]) { completeModelVersionUpload(versionId: $id, parts: $parts) {
  ...V verification { running bytesVerified bytesTotal } } }""" + _VERSION_FIELDS
_VERSION = """query Version($id: ID!) { modelVersion(id: $id) { ...V verification { running } } }""" + _VERSION_FIELDS
_PROMOTE = """mutation Promote($input: PromoteInput!) { promoteModelVersion(input: $input) { ...D } }""" + _DEPLOYMENT_FIELDS
_ROLLBACK = """mutation Rollback($input: RollbackInput!) { rollbackModel(input: $input) { ...D } }""" + _DEPLOYMENT_FIELDS
_PRODUCTION = """query Production($model: String!, $env: String!) {
  productionModel(modelName: $model, environment: $env) { ...V } }""" + _VERSION_FIELDS
_COMPARE = """query Compare($model: String!, $metric: String!, $direction: SortDirection!, $ids: [ID!], $first: Int!) {
  compareVersions(modelName: $model, metric: $metric, direction: $direction, versionIds: $ids, first: $first) {
    rank value deltaVsProduction version { ...V } } }""" + _VERSION_FIELDS


# --------------------------------------------------------------------------------------------
# HTTP


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Requests that carry the token never follow a redirect (urllib would send the token along)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _storage_message(status: int, body: bytes) -> str:
    """What storage said, without echoing the request (S3 error bodies repeat the signed request)."""
    text = body[:2000].decode("utf-8", "replace")
    code = re.search(r"<Code>([^<]{1,100})</Code>", text)
    if code:
        return f"HTTP {status} {code.group(1)}"
    first = text.strip().splitlines()[0][:200] if text.strip() else ""
    return f"HTTP {status}" + (f": {first}" if first and "http" not in first.lower() and "sig" not in first.lower() else "")


def _with_retries(what: str, attempt: Callable[[], T], attempts: int = RETRY_ATTEMPTS, backoff: float = 0.5) -> T:
    """Runs ``attempt`` until it succeeds, retrying :class:`_Retryable` failures.

    The n-th retry waits ``backoff * 2**(n-1)`` seconds (at most 8), times a random 0.5-1.5.
    """
    for n in range(1, attempts + 1):
        try:
            return attempt()
        except _Retryable as err:
            if n == attempts:
                raise TransferError(f"{what} failed after {attempts} attempts: {err}", "TRANSFER_FAILED") from None
            delay = min(8.0, backoff * 2 ** (n - 1)) * (0.5 + random.random())
            log.info("%s: %s; retrying in %.1f s (attempt %d of %d)", what, err, delay, n + 1, attempts)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _network_failure(err: BaseException) -> _Retryable:
    reason = getattr(err, "reason", None) or err
    return _Retryable(f"network error: {type(reason).__name__}: {reason}" if not isinstance(reason, str) else f"network error: {reason}")


_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError)


class _Progress:
    """Bytes uploaded of all the files of a push, told to a ``progress(done, total)`` callback."""

    def __init__(self, total: int, callback: Optional[Callable[[int, int], None]]) -> None:
        self.total = total
        self.done = 0
        self._callback = callback
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.done += n
            done = self.done
        if self._callback is not None:
            self._callback(done, self.total)


class _HashingReader:
    """A file body for an upload: sends exactly ``size`` bytes (from ``start``) and hashes them on the way."""

    def __init__(self, path: Path, size: int, start: int = 0, meter: Optional[_Progress] = None) -> None:
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = size
        self._meter = meter
        self.sent = 0
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        chunk = self._file.read(min(self._left, CHUNK if n is None or n < 0 else max(n, CHUNK)))
        if not chunk:
            raise IntegrityError("the file became shorter after it was hashed", "INTEGRITY_MISMATCH")
        self._left -= len(chunk)
        self.sent += len(chunk)
        self.sha256.update(chunk)
        if self._meter is not None:
            self._meter.add(len(chunk))
        return chunk

    def undo(self) -> None:
        """A failed attempt: its bytes no longer count as uploaded."""
        if self._meter is not None and self.sent:
            self._meter.add(-self.sent)
        self.sent = 0

    def close(self) -> None:
        self._file.close()


# --------------------------------------------------------------------------------------------
# The client


class Registry:
    """A connection to one registry: ``Registry("http://127.0.0.1:4000", token)``.

    ``url`` is the server's base address (a trailing ``/graphql`` is accepted too); ``token`` an
    API token secret (sent as ``Authorization: Bearer``, and only to the registry, never to storage).
    ``timeout``: seconds without progress before a request fails; ``parallel``: files transferred
    at once; ``part_parallel``: parts of one large file uploaded at once; ``retries``: attempts per request or file on network errors and 5xx answers, waiting
    ``backoff`` seconds before the first retry and twice as long before each next one (at most 8 s).
    Safe to share between threads.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        parallel: int = PARALLEL_TRANSFERS,
        part_parallel: int = PARALLEL_TRANSFERS,
        retries: int = RETRY_ATTEMPTS,
        backoff: float = 0.5,
    ) -> None:
        base = url.rstrip("/")
        if base.endswith("/graphql"):
            base = base[: -len("/graphql")]
        if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
            raise BadInputError("the registry URL must start with http:// or https://", "BAD_USER_INPUT")
        self.url = base
        self._token = token
        self.timeout = timeout
        self.parallel = max(1, parallel)
        self.part_parallel = max(1, part_parallel)
        self.retries = max(1, retries)
        self.backoff = backoff
        self._api = urllib.request.build_opener(_RefuseRedirects())
        self._storage = urllib.request.build_opener()

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def _retry(self, what: str, attempt: Callable[[], T], attempts: Optional[int] = None) -> T:
        return _with_retries(what, attempt, attempts or self.retries, self.backoff)

    # ---- GraphQL

    def graphql(self, query: str, variables: Optional[Mapping[str, Any]] = None, *, retry: bool = True) -> Dict[str, Any]:
        """Sends one GraphQL operation and returns its ``data``; raises the first error as a :class:`RegistryError`.

        ``retry``: retry network errors and 5xx answers (for queries, and mutations that are safe to repeat).
        """
        body = json.dumps({"query": query, "variables": dict(variables or {})}, allow_nan=False).encode()
        return self._retry("registry request", lambda: self._graphql_once(body), self.retries if retry else 1)

    def _graphql_once(self, body: bytes) -> Dict[str, Any]:
        request = urllib.request.Request(f"{self.url}/graphql", data=body, method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json", "Authorization": f"Bearer {self._token}"})
        status, payload = self._call_api(request)
        try:
            answer = json.loads(payload)
        except ValueError:
            raise RegistryError(f"the registry answered HTTP {status} without JSON", "INTERNAL_SERVER_ERROR", status) from None
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            first = errors[0]
            code = (first.get("extensions") or {}).get("code", "INTERNAL_SERVER_ERROR")
            raise _error(str(first.get("message", "unknown error")), code, status)
        if status >= 300 or not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise RegistryError(f"the registry answered HTTP {status} without data", "INTERNAL_SERVER_ERROR", status)
        return answer["data"]

    def _call_api(self, request: urllib.request.Request) -> Tuple[int, bytes]:
        """Status and body of a request to the registry; 5xx and network errors are retryable."""
        try:
            with self._api.open(request, timeout=self.timeout) as res:
                return res.status, res.read()
        except urllib.error.HTTPError as err:
            payload = err.read()
            err.close()
            if err.code >= 500:
                raise _Retryable(f"the registry answered HTTP {err.code}") from None
            return err.code, payload
        except _NETWORK_ERRORS as err:
            raise _network_failure(err) from None

    def _route(self, path: str) -> Tuple[int, Dict[str, Any]]:
        """GET one of the registry's JSON routes (e.g. the manifest); raises its error body as a RegistryError."""
        request = urllib.request.Request(f"{self.url}{path}", headers={"Accept": "application/json", "Authorization": f"Bearer {self._token}"})
        status, payload = self._retry("registry request", lambda: self._call_api(request))
        try:
            body = json.loads(payload) if payload else {}
        except ValueError:
            body = {}
        if status >= 300:
            errors = body.get("errors") or [{}]
            code = body.get("code") or (errors[0].get("extensions") or {}).get("code") or "INTERNAL_SERVER_ERROR"
            raise _error(str(body.get("error") or errors[0].get("message") or f"HTTP {status}"), code, status)
        return status, body

    # ---- push

    def push(
        self,
        model: str,
        files: Union[Sequence[PathLike], Mapping[str, PathLike]],
        metrics: Optional[Mapping[str, float]] = None,
        params: Optional[Mapping[str, Any]] = None,
        dataset: str = "unspecified",
        features: Optional[Sequence[str]] = None,
        tags: Optional[Sequence[str]] = None,
        idempotency_key: Optional[str] = None,
        *,
        model_type: str = "unspecified",
        description: Optional[str] = None,
        training: Optional[Mapping[str, Any]] = None,
        content_types: Optional[Mapping[str, str]] = None,
        progress: Optional[Callable[[int, int], None]] = None,
    ) -> Version:
        """Registers a version, uploads its files and completes it; returns the version (READY).

        ``files``: paths (each stored under its file name; a directory adds every file under it,
        by its path relative to that directory), or a mapping ``{artifact path: local path}``.
        ``metrics``/``params`` become the version's metrics and hyperparameters, ``dataset`` its
        dataset version, ``features`` its feature names. Each file's sha256 is computed by
        streaming it. Without ``idempotency_key`` one is derived from all the inputs (file
        contents included), so running the same push again, e.g. after a timeout or a crash,
        gives the same version instead of a second one; it finishes the uploads if they were
        cut short. Uploads run up to ``parallel`` at a time, retried with backoff on network
        errors and 5xx answers. A file the registry asks for in parts (a large one: past 64 MiB
        by default) goes up ``part_parallel`` parts at a time, each part retried on its own (with
        a fresh URL when its URL expired); pushed again after a crash, the parts storage already
        holds are skipped. Such a file's parts are hashed in the same read as the whole file
        (with the part size the registry's ``uploadPlan`` gives) and registered, so each part URL
        is signed with its part's SHA-256 and storage refuses a part with other bytes.
        ``progress(bytes_done, bytes_total)`` is told as the upload of all the files moves on
        (from several threads).
        """
        metric_list = [{"name": str(k), "value": float(v)} for k, v in (metrics or {}).items()]
        for m in metric_list:
            if not math.isfinite(m["value"]):
                raise BadInputError(f'metric "{m["name"]}" must be a finite number', "BAD_USER_INPUT")
        part_hashes: Dict[str, List[str]] = {}
        local = _collect_files(files, self._part_size, part_hashes)
        artifacts = [
            {"path": path, "sizeBytes": size, "sha256": digest, "contentType": (content_types or {}).get(path, "application/octet-stream"),
             **({"partSha256": part_hashes[path]} if path in part_hashes else {})}
            for path, (_, size, digest) in local.items()
        ]
        registration: Dict[str, Any] = {
            "modelName": model, "modelType": model_type, "datasetVersion": dataset, "metrics": metric_list,
            "hyperparameters": dict(params or {}), "featureNames": list(features or []), "tags": list(tags or []),
            "artifacts": artifacts,
        }
        if description is not None:
            registration["description"] = description
        if training is not None:
            registration["training"] = dict(training)
        try:
            # Part hashes stay out of the key: they follow from the bytes, and a push started without
            # them (an older client, a registry without uploadPlan) must find its version again.
            keyed = {**registration, "artifacts": [{k: v for k, v in a.items() if k != "partSha256"} for a in artifacts]}
            key = idempotency_key or "push-" + hashlib.sha256(json.dumps(keyed, sort_keys=True, allow_nan=False).encode()).hexdigest()
        except (TypeError, ValueError) as err:
            raise BadInputError(f"params and training must be plain JSON values (no NaN or infinity): {err}", "BAD_USER_INPUT") from None
        answer = self.graphql(_REGISTER, {"input": {**registration, "idempotencyKey": key}})["registerModelVersion"]
        version = Version.from_graphql(answer["version"])
        log.info("registered %s version %d (%s), status %s", version.model, version.number, version.id, version.status)
        if version.status == "PENDING_UPLOAD":
            parts = self._upload_all(version.id, answer["uploads"], local, progress)
            version = self._complete(version.id, parts)
        if version.status == "FAILED":
            raise FailedPreconditionError(
                f"version {version.id} FAILED verification: {version.failure_reason}; push again with another idempotency_key",
                "FAILED_PRECONDITION")
        return version

    def _part_size(self, size: int) -> Optional[int]:
        """The part size the registry chooses for a file of ``size`` bytes (uploadPlan); None: one PUT, or a registry without uploadPlan."""
        if size <= 0:
            return None
        try:
            plan = self.graphql(_UPLOAD_PLAN, {"size": size})["uploadPlan"]
        except RegistryError as err:
            # An older registry: parts without checksums, as before. A refusal (a token that may not
            # register, a size past the limit) is left to the registration, which answers it as it always did.
            if err.code in ("GRAPHQL_VALIDATION_FAILED", "FORBIDDEN", "BAD_USER_INPUT"):
                return None
            raise
        return int(plan["partSizeBytes"]) if plan["inParts"] and plan["partSizeBytes"] else None

    def _upload_all(
        self, version_id: str, uploads: Iterable[Mapping[str, Any]], local: Mapping[str, Tuple[Path, int, str]],
        progress: Optional[Callable[[int, int], None]] = None,
    ) -> List[Dict[str, Any]]:
        uploads = list(uploads)
        meter = _Progress(sum(local[u["path"]][1] for u in uploads), progress)
        parts: List[Dict[str, Any]] = []
        whole = [(u["path"], u["upload"], local[u["path"]]) for u in uploads if not u.get("parts")]
        jobs = [lambda j=j: self._upload(j[0], j[1], *j[2], meter=meter) for j in whole]
        for u in uploads:
            if u.get("parts"):
                file, size, _ = local[u["path"]]
                jobs.append(lambda u=u, file=file, size=size: parts.append(
                    {"path": u["path"], "etags": self._upload_parts(version_id, u["path"], u["parts"], file, size, meter)}))
        _run_parallel(self.parallel, jobs)
        return parts

    def _upload(self, path: str, upload: Mapping[str, Any], file: Path, size: int, digest: str, *, meter: Optional["_Progress"] = None) -> None:
        etag, sha = self._put(f'upload of "{path}"', upload, file, 0, size, meter)
        if sha != digest:
            raise IntegrityError(f'"{path}" changed while it was uploaded; push again', "INTEGRITY_MISMATCH")
        log.info("uploaded %s (%d bytes)", path, size)

    def _put(self, what: str, upload: Mapping[str, Any], file: Path, start: int, size: int, meter: Optional["_Progress"]) -> Tuple[Optional[str], str]:
        """PUTs bytes ``start``..``start+size`` of ``file`` to a presigned URL, with retries; returns (ETag, sha256 of what was sent)."""
        headers = {h["name"]: h["value"] for h in upload["headers"]}
        headers["Content-Length"] = str(size)

        def attempt() -> Tuple[Optional[str], str]:
            reader = _HashingReader(file, size, start, meter)
            try:
                request = urllib.request.Request(upload["url"], data=reader, method=upload["method"], headers=headers)  # type: ignore[arg-type]
                with self._storage.open(request, timeout=self.timeout) as res:
                    res.read()
                    etag = res.headers.get("ETag")
            except urllib.error.HTTPError as err:
                reader.undo()
                message = _storage_message(err.code, err.read())
                err.close()
                if err.code >= 500:
                    raise _Retryable(message) from None
                raise TransferError(f"{what} refused by storage: {message}", "TRANSFER_FAILED", err.code) from None
            except _NETWORK_ERRORS as err:
                reader.undo()
                raise _network_failure(err) from None
            finally:
                reader.close()
            return etag, reader.sha256.hexdigest()

        return self._retry(what, attempt)

    def _upload_parts(self, version_id: str, path: str, plan: Mapping[str, Any], file: Path, size: int, meter: "_Progress") -> List[str]:
        """Uploads one file in the registry's parts, ``part_parallel`` at a time; returns their ETags, part 1 first."""
        part = int(plan["partSizeBytes"])
        count = max(1, -(-size // part))
        etags: List[Optional[str]] = [None] * count
        urls = {p["partNumber"]: p["upload"] for p in plan["parts"]}
        for p in plan["parts"]:
            if p.get("etag"):  # storage holds it already (a resumed push)
                etags[p["partNumber"] - 1] = p["etag"]
                meter.add(min(part, size - (p["partNumber"] - 1) * part))
        lock = threading.Lock()

        def fresh(n: int) -> Mapping[str, Any]:
            answer = self.graphql(_REISSUE, {"id": version_id, "paths": [path], "parts": [n]})["createUploadUrls"]
            upload = answer[0]["parts"]["parts"][0]["upload"]
            with lock:
                urls[n] = upload
            return upload

        def send(n: int) -> None:
            start, length = (n - 1) * part, min(part, size - (n - 1) * part)
            what = f'upload of part {n} of "{path}"'
            try:
                etag, _ = self._put(what, urls[n], file, start, length, meter)
            except TransferError as err:
                if err.status != 403:
                    raise
                etag, _ = self._put(what, fresh(n), file, start, length, meter)  # the URL expired: once more with a fresh one
            if not etag:
                raise TransferError(f"{what}: storage answered without an ETag", "TRANSFER_FAILED")
            etags[n - 1] = etag

        _run_parallel(self.part_parallel, [lambda n=n: send(n) for n in range(1, count + 1) if etags[n - 1] is None])
        log.info("uploaded %s in %d parts (%d bytes)", path, count, size)
        return [e for e in etags if e is not None]

    def _complete(self, version_id: str, parts: Optional[List[Dict[str, Any]]] = None, poll_seconds: float = 1.0, timeout: float = 6 * 3600) -> Version:
        """Completes the upload (with the ETags of files sent in parts), waiting out a background verification (versions over 1 GiB)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                v = self.graphql(_COMPLETE, {"id": version_id, "parts": parts or None})["completeModelVersionUpload"]
            except ConflictError:
                v = None  # another completion of this version is running: wait for it
            while v is None or (v["status"] == "PENDING_UPLOAD" and (v.get("verification") or {}).get("running")):
                if time.monotonic() > deadline:
                    raise TransferError(f"version {version_id} was still being verified after {timeout:.0f} s", "TRANSFER_FAILED")
                time.sleep(poll_seconds)
                v = self.graphql(_VERSION, {"id": version_id})["modelVersion"]
            if v["status"] != "PENDING_UPLOAD":
                return Version.from_graphql(v)

    # ---- pull

    def pull(self, model: str, ref: str = "production", dir: PathLike = ".") -> PulledVersion:
        """Downloads every file of a version into ``dir`` and checks each one's size and sha256.

        ``ref``: a version id, a version number, ``latest`` (newest READY) or an environment name.
        Each file is written under a temporary name while its sha256 is computed; only when every
        file of the version is verified are they renamed into place (replacing older copies). On
        any mismatch or failure, nothing of this pull is left in ``dir`` and an
        :class:`IntegrityError` (or :class:`TransferError`) is raised.
        """
        quoted = f"/v1/models/{urllib.parse.quote(model, safe='')}/versions/{urllib.parse.quote(str(ref), safe='')}/manifest"
        _, manifest = self._route(quoted)
        root = Path(dir).resolve()
        root.mkdir(parents=True, exist_ok=True)
        targets = [(a, _inside(root, a["path"])) for a in manifest["artifacts"]]
        made_dirs: List[Path] = []
        temps: Dict[str, Path] = {}
        lock = threading.Lock()

        def fetch(a: Mapping[str, Any], target: Path) -> None:
            _make_dirs(target.parent, root, made_dirs, lock)
            temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.partial"
            with lock:
                temps[a["path"]] = temp
            self._retry(f'download of "{a["path"]}"', lambda: self._download(a, temp))

        try:
            _run_parallel(self.parallel, [lambda a=a, t=t: fetch(a, t) for a, t in targets])
        except BaseException:
            for temp in temps.values():
                _remove(temp)
            for d in reversed(made_dirs):
                try:
                    d.rmdir()
                except OSError:
                    pass
            raise
        try:
            for a, target in targets:
                os.replace(temps[a["path"]], target)
        finally:  # a rename refused (e.g. a folder in the way) leaves no temporary file behind
            for temp in temps.values():
                _remove(temp)
        log.info("pulled %s version %d (%s): %d files", manifest["model"], manifest["number"], manifest["versionId"], len(targets))
        return PulledVersion(manifest["model"], manifest["versionId"], manifest["number"], manifest["status"],
                             manifest.get("environment"), {a["path"]: t for a, t in targets})

    def _download(self, a: Mapping[str, Any], temp: Path) -> None:
        """One attempt: streams the presigned URL to ``temp``, hashing as it goes; removes ``temp`` unless verified."""
        path, expected_size, expected = a["path"], int(a["sizeBytes"]), a["sha256"]
        digest, size = hashlib.sha256(), 0
        try:
            with self._storage.open(urllib.request.Request(a["url"]), timeout=self.timeout) as res, open(temp, "wb") as out:
                announced = res.headers.get("Content-Length")
                while True:
                    chunk = res.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > expected_size:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                if announced is not None and announced.isdigit() and size < int(announced):
                    raise _Retryable(f"the connection closed after {size} of {announced} bytes")
        except urllib.error.HTTPError as err:
            _remove(temp)
            message = _storage_message(err.code, err.read())
            err.close()
            if err.code >= 500:
                raise _Retryable(message) from None
            raise TransferError(f'download of "{path}" refused by storage: {message}', "TRANSFER_FAILED", err.code) from None
        except _NETWORK_ERRORS as err:
            _remove(temp)
            raise _network_failure(err) from None
        except BaseException:
            _remove(temp)
            raise
        if size != expected_size or digest.hexdigest() != expected:
            _remove(temp)
            got = f"{size} bytes" if size != expected_size else f"sha256 {digest.hexdigest()}"
            raise IntegrityError(
                f'"{path}" does not match the registry: expected {expected_size} bytes with sha256 {expected}, '
                f"got {got}; nothing was written",
                "INTEGRITY_MISMATCH")

    # ---- deployments and queries

    def promote(
        self,
        version: Union[str, Version],
        environment: str = "production",
        *,
        reason: Optional[str] = None,
        require_improvement: Optional[Union[str, Tuple[str, float]]] = None,
        expected_current_version_id: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Deployment:
        """Deploys a READY version (an id or a :class:`Version`) to ``environment``; returns the deployment.

        ``require_improvement``: a metric name, or ``(metric, min_ratio)``: refused with
        :class:`FailedPreconditionError` unless the candidate's metric is at least production's ×
        ratio. ``expected_current_version_id``: compare-and-set (:class:`ConflictError` if another
        version is deployed). With ``idempotency_key`` the call is retried on network errors and
        5xx answers, and repeating it within 24 h returns the same deployment.
        """
        payload: Dict[str, Any] = {"versionId": version.id if isinstance(version, Version) else version, "environment": environment}
        if reason is not None:
            payload["reason"] = reason
        if require_improvement is not None:
            metric, ratio = (require_improvement, 1.0) if isinstance(require_improvement, str) else require_improvement
            payload["requireImprovement"] = {"metric": metric, "minRatio": float(ratio)}
        if expected_current_version_id is not None:
            payload["expectedCurrentVersionId"] = expected_current_version_id
        if idempotency_key is not None:
            payload["idempotencyKey"] = idempotency_key
        data = self.graphql(_PROMOTE, {"input": payload}, retry=idempotency_key is not None)
        return Deployment.from_graphql(data["promoteModelVersion"])

    def rollback(
        self,
        model: str,
        environment: str = "production",
        *,
        to_version_id: Optional[str] = None,
        reason: Optional[str] = None,
        idempotency_key: Optional[str] = None,
    ) -> Deployment:
        """Puts back the version deployed before the current one (or ``to_version_id``, deployed there before).

        :class:`FailedPreconditionError` when there is nothing to roll back to. Retries as :meth:`promote`.
        """
        payload: Dict[str, Any] = {"modelName": model, "environment": environment}
        for name, value in (("toVersionId", to_version_id), ("reason", reason), ("idempotencyKey", idempotency_key)):
            if value is not None:
                payload[name] = value
        data = self.graphql(_ROLLBACK, {"input": payload}, retry=idempotency_key is not None)
        return Deployment.from_graphql(data["rollbackModel"])

    def production_model(self, model: str, environment: str = "production") -> Optional[Version]:
        """The version deployed in ``environment`` now, or None when nothing is; :class:`NotFoundError` for an unknown model."""
        v = self.graphql(_PRODUCTION, {"model": model, "env": environment})["productionModel"]
        return Version.from_graphql(v) if v else None

    def compare(
        self,
        model: str,
        metric: str = "roc_auc",
        *,
        direction: str = "DESC",
        version_ids: Optional[Sequence[str]] = None,
        first: int = 20,
    ) -> List[Comparison]:
        """READY and ARCHIVED versions ranked by ``metric`` (``DESC``: highest first), with the difference to production."""
        data = self.graphql(_COMPARE, {"model": model, "metric": metric, "direction": direction.upper(),
                                       "ids": list(version_ids) if version_ids is not None else None, "first": first})
        return [Comparison(r["rank"], Version.from_graphql(r["version"]), r["value"], r["deltaVsProduction"])
                for r in data["compareVersions"]]


# --------------------------------------------------------------------------------------------
# Files


def _sha256_file(path: Path, part_size: Optional[int] = None) -> Tuple[int, str, Optional[List[str]]]:
    """Size and sha256 of a file, and with ``part_size`` the sha256 of each part of that size (the last the rest), in one read."""
    digest, size = hashlib.sha256(), 0
    parts: List[str] = []
    part, in_part = (hashlib.sha256() if part_size else None), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            at = 0
            while part is not None and part_size and at < len(chunk):
                take = min(len(chunk) - at, part_size - in_part)
                part.update(chunk[at:at + take])
                at, in_part = at + take, in_part + take
                if in_part == part_size:
                    parts.append(part.hexdigest())
                    part, in_part = hashlib.sha256(), 0
    if part is not None and (in_part > 0 or not parts):
        parts.append(part.hexdigest())
    return size, digest.hexdigest(), (parts if part_size else None)


def _collect_files(
    files: Union[Sequence[PathLike], Mapping[str, PathLike]],
    part_size: Optional[Callable[[int], Optional[int]]] = None,
    part_hashes: Optional[Dict[str, List[str]]] = None,
) -> Dict[str, Tuple[Path, int, str]]:
    """``{artifact path: (local path, size, sha256)}``, in a stable order. With ``part_size`` (the
    part size for a file's size, or None) each such file's part hashes go into ``part_hashes``."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    pairs: List[Tuple[str, Path]] = []
    if isinstance(files, Mapping):
        pairs = [(str(name), Path(p)) for name, p in files.items()]
    else:
        for p in map(Path, files):
            if p.is_dir():
                pairs += sorted((f.relative_to(p).as_posix(), f) for f in p.rglob("*") if f.is_file())
            else:
                pairs.append((p.name, p))
    out: Dict[str, Tuple[Path, int, str]] = {}
    for name, p in pairs:
        if name in out:
            raise BadInputError(f'two files would be stored as "{name}"; pass a mapping {{artifact path: file}}', "BAD_USER_INPUT")
        if not p.is_file():
            raise BadInputError(f"{p} is not a file", "BAD_USER_INPUT")
        stat_size = p.stat().st_size
        planned = part_size(stat_size) if part_size else None
        size, digest, parts = _sha256_file(p, planned)
        out[name] = (p, size, digest)
        # A file whose size changed since it was planned gets no part hashes (they would not fit the registry's plan).
        if parts is not None and part_hashes is not None and size == stat_size:
            part_hashes[name] = parts
    if not out:
        raise BadInputError("a version needs at least one file", "BAD_USER_INPUT")
    return out


def _inside(root: Path, path: str) -> Path:
    """Where an artifact goes under ``root``; refuses a path that would leave it."""
    target = (root / path).resolve()
    if path.startswith("/") or "\\" in path or ".." in path.split("/") or root not in target.parents:
        raise IntegrityError(f"the manifest names an unsafe path {path!r}", "INTEGRITY_MISMATCH")
    return target


def _make_dirs(d: Path, root: Path, made: List[Path], lock: threading.Lock) -> None:
    with lock:
        missing = []
        while d != root and not d.exists():
            missing.append(d)
            d = d.parent
        for m in reversed(missing):
            m.mkdir()
            made.append(m)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _run_parallel(workers: int, jobs: Sequence[Callable[[], None]]) -> None:
    """Runs the jobs on up to ``workers`` threads; on the first failure, cancels those not started and raises it."""
    if not jobs:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            for f in concurrent.futures.as_completed(futures):
                f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise

