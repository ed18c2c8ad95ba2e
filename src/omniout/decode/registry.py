"""An async client for a Confluent-compatible schema registry.

Only the two calls omniout needs: ``GET /schemas/ids/{id}`` to find the
writer schema of a Confluent-framed event, and
``POST /subjects/{subject}/versions`` to register a schema for the publish
command. Requests and answers use the registry's media type
``application/vnd.schemaregistry.v1+json``.

Schemas are immutable per id, so each id is fetched once and kept for the
life of the client; concurrent lookups of one id share one request.
Failures are not kept: the next lookup asks again.

What a failure means for the event:

- 404 with error code 40403 (schema not found): ``UnknownSchemaError``, the
  event is dead-lettered. So is an id above 2**31 - 1, without asking:
  registries hold ids as signed 32-bit integers, and Apicurio Registry
  answers a larger one with a 404 that lacks code 40403 (which would
  otherwise mean "try again", forever).
- A schema that is not Avro, or that uses schema references (which this
  client does not resolve): ``DecodeError``, the event is dead-lettered.
- Anything else (no connection, timeout, 5xx, 429, rejected credentials, a
  404 without code 40403, a malformed answer) says nothing about the event:
  ``RegistryUnavailableError``, the event is tried again later.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from functools import partial
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import quote

import httpx
import orjson

from omniout.decode.schemas import KnownSchema, known_schema
from omniout.errors import (
    DecodeError,
    RegistryUnavailableError,
    UnknownSchemaError,
    ValidationError,
)

__all__ = ["RegistryClient", "RegistryLookup"]

logger = logging.getLogger(__name__)

_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
_ACCEPT = f"{_MEDIA_TYPE}, application/vnd.schemaregistry+json; q=0.9"
_SCHEMA_NOT_FOUND = 40403
_LARGEST_ID = 2**31 - 1
_REFUSED_SCHEMA = frozenset({409, 422})  # incompatible, invalid
_EXCERPT = 200


class RegistryLookup(Protocol):
    """Finds writer schemas by registry id: what the decoder and encoder need."""

    async def schema(self, registry_id: int) -> KnownSchema:
        """The schema registered under ``registry_id``; see RegistryClient."""
        ...


class RegistryClient:
    """Looks up and registers Avro schemas in a schema registry.

    ``url`` is the registry's base URL. ``client`` may be shared and is then
    left open by :meth:`aclose`; otherwise the registry client owns one.
    ``username``/``password`` (HTTP basic auth) and ``timeout`` apply to
    every request either way. Credentials never appear in errors or logs.
    """

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._base = url.rstrip("/")
        # Without credentials of its own, a shared client's auth applies.
        self._auth = (
            httpx.BasicAuth(username, password or "")
            if username is not None
            else httpx.USE_CLIENT_DEFAULT
        )
        self._timeout = httpx.Timeout(timeout)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()
        self._schemas: dict[int, KnownSchema] = {}
        self._fetches: dict[int, asyncio.Task[KnownSchema]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop fetches in flight and close the HTTP client if it is ours."""
        fetches = list(self._fetches.values())
        for task in fetches:
            task.cancel()
        await asyncio.gather(*fetches, return_exceptions=True)
        if self._owns_client:
            await self._client.aclose()

    async def schema(self, registry_id: int) -> KnownSchema:
        """The writer schema registered under ``registry_id``.

        Returns at once when cached; otherwise waits for the one fetch of
        this id. Raises as listed in the module docstring.
        """
        known = self._schemas.get(registry_id)
        if known is not None:
            return known
        if registry_id > _LARGEST_ID:
            raise UnknownSchemaError(
                f"schema id {registry_id} is above {_LARGEST_ID}, "
                "the largest id a schema registry gives"
            )
        task = self._fetches.get(registry_id)
        if task is None:
            task = asyncio.create_task(self._fetch(registry_id))
            task.add_done_callback(partial(self._settled, registry_id))
            self._fetches[registry_id] = task
        # One waiter giving up must not cancel the fetch the others await.
        return await asyncio.shield(task)

    def _settled(self, registry_id: int, task: asyncio.Task[KnownSchema]) -> None:
        self._fetches.pop(registry_id, None)
        if not task.cancelled():
            # Marks the exception as seen even when every waiter was cancelled.
            task.exception()

    async def _fetch(self, registry_id: int) -> KnownSchema:
        path = f"/schemas/ids/{registry_id}"
        response = await self._send("GET", path)
        if response.status_code == 404 and _error_code(response) == _SCHEMA_NOT_FOUND:
            raise UnknownSchemaError(
                f"schema id {registry_id} is not in the schema registry"
            )
        known = _registered_schema(registry_id, _json_answer(response, f"GET {path}"))
        self._schemas[registry_id] = known
        logger.info("Fetched schema %d (%s) from the registry", registry_id, known.name)
        return known

    async def register(self, subject: str, schema: KnownSchema) -> int:
        """Register ``schema`` under ``subject`` and return its registry id.

        Registering a schema the subject already has returns its existing id.
        Raises ``ValidationError`` when the registry refuses the schema
        (incompatible or invalid), ``RegistryUnavailableError`` otherwise.
        """
        path = f"/subjects/{quote(subject, safe='')}/versions"
        body = orjson.dumps({"schema": schema.source})
        response = await self._send("POST", path, body)
        if response.status_code in _REFUSED_SCHEMA:
            raise ValidationError(
                f"schema registry refused {schema.name} for subject {subject!r}: "
                f"{_message(response)}"
            )
        registry_id = _json_answer(response, f"POST {path}").get("id")
        if not isinstance(registry_id, int):
            raise RegistryUnavailableError(
                f"schema registry answered POST {path} without an id",
                status=response.status_code,
            )
        self._schemas.setdefault(
            registry_id, dataclasses.replace(schema, schema_id=str(registry_id))
        )
        logger.info("Registered %s as schema %d", schema.name, registry_id)
        return registry_id

    async def _send(
        self, method: str, path: str, body: bytes | None = None
    ) -> httpx.Response:
        headers = {"Accept": _ACCEPT}
        if body is not None:
            headers["Content-Type"] = _MEDIA_TYPE
        try:
            return await self._client.request(
                method,
                self._base + path,
                content=body,
                headers=headers,
                auth=self._auth,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                f"schema registry unreachable for {method} {path}: {exc!r}"
            ) from exc


def _registered_schema(registry_id: int, body: dict[str, Any]) -> KnownSchema:
    schema_type = body.get("schemaType", "AVRO")
    if schema_type != "AVRO":
        raise DecodeError(f"schema id {registry_id} is {schema_type}, not Avro")
    if body.get("references"):
        raise DecodeError(
            f"schema id {registry_id} uses schema references, "
            "which omniout does not resolve"
        )
    text = body.get("schema")
    if not isinstance(text, str):
        raise RegistryUnavailableError(
            f"schema registry answered for schema id {registry_id} without a schema"
        )
    try:
        return known_schema(text, schema_id=str(registry_id))
    except ValueError as exc:
        raise DecodeError(f"schema id {registry_id} is unusable: {exc}") from exc


def _json_answer(response: httpx.Response, what: str) -> dict[str, Any]:
    """The JSON object of a successful answer, else RegistryUnavailableError."""
    status = response.status_code
    if not response.is_success:
        raise RegistryUnavailableError(
            f"schema registry answered {status} to {what}: {_message(response)}",
            status=status,
        )
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise RegistryUnavailableError(
            f"schema registry answered {what} with something other than a JSON "
            "object",
            status=status,
        )
    return body


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: httpx.Response) -> object:
    return _error_body(response).get("error_code")


def _message(response: httpx.Response) -> str:
    """The registry's own error text, bounded, or the start of the body."""
    body = _error_body(response)
    if "message" in body:
        text = f"{body['message']} (error code {body.get('error_code')})"
    else:
        text = response.content.decode("utf-8", "replace")
    return text[:_EXCERPT]
