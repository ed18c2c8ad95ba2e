"""The configuration: one YAML file, overridden by ``OMNIOUT_...`` variables.

The file holds the routes; connection settings may come from either place.
Environment variables win over the file and nest with a double underscore:
``OMNIOUT_KAFKA__BOOTSTRAP_SERVERS`` sets ``kafka.bootstrap_servers``.

Every error is raised as :class:`~omniout.errors.ConfigError` naming the file,
the key and the reason, before anything connects to Kafka.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from omniout.decode.settings import RegistrySettings
from omniout.deliver.auth.settings import CredentialSettings, check_references
from omniout.deliver.limits.plan import plan_limits
from omniout.deliver.limits.settings import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    LIMIT_KEY_PATTERN,
    RateLimitSettings,
)
from omniout.deliver.policy import DEFAULT_RETRY_STATUSES, RetryPolicy
from omniout.errors import ConfigError
from omniout.mapping.rows import RowSettings
from omniout.payload.settings import SoapSettings
from omniout.topics import kafka_topic

__all__ = [
    "AdminSettings",
    "EndpointSettings",
    "KafkaSettings",
    "LedgerSettings",
    "ProcessingSettings",
    "RequestIdExpression",
    "RetrySettings",
    "RouteSettings",
    "Settings",
    "load_settings",
]

Seconds = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    """How to reach the brokers and which consumer group to join."""

    bootstrap_servers: str = "127.0.0.1:9092"
    group_id: str = "omniout"
    client_id: str = "omniout"
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT"
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    # A secret is never written in the file: name the variable that holds it.
    sasl_password_env: str | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    session_timeout: Seconds = 10.0


class LedgerSettings(_Section):
    """Where delivered request ids are recorded, and for how long."""

    url: str = "sqlite:///omniout-ledger.db"
    retention: Seconds = 7 * 24 * 3600.0
    # None keeps the store's own default: "deliveries" in SQLite,
    # "omniout_deliveries" in PostgreSQL.
    table: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ProcessingSettings(_Section):
    """Concurrency, commits and shutdown of the consumer."""

    max_in_flight: int = Field(default=256, ge=1)
    commit_interval: Seconds = 1.0
    shutdown_timeout: Seconds = 30.0
    revoke_timeout: Seconds = 15.0


class AdminSettings(_Section):
    """The admin HTTP port: health, readiness and metrics."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    enabled: bool = True


class RetrySettings(_Section):
    """How a route retries a delivery that failed for a transient reason.

    The defaults follow the CRM platform's own outbound messages: exponential
    backoff, at most two hours between attempts, given up after a day.
    """

    max_attempts: int = Field(default=10, ge=1)
    max_elapsed: Seconds = 24 * 3600.0
    initial_backoff: Seconds = 1.0
    max_backoff: Seconds = 7200.0
    multiplier: float = Field(default=2.0, ge=1.0)
    jitter: float = Field(default=1.0, ge=0.0, le=1.0)
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    permanent_statuses: frozenset[int] = frozenset()
    on_exhausted: Literal["dead-letter", "pause"] = "dead-letter"

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_elapsed=self.max_elapsed,
            initial_backoff=self.initial_backoff,
            max_backoff=self.max_backoff,
            multiplier=self.multiplier,
            jitter=self.jitter,
            retry_statuses=self.retry_statuses,
            permanent_statuses=self.permanent_statuses,
        )


class EndpointSettings(_Section):
    """Where a route's payload goes."""

    # May be left out when a ``soap.wsdl`` port gives the address.
    url: str | None = None
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    # The name of an entry of the top-level ``credentials:`` section.
    credential: str | None = None
    # The body: JSON, or the payload as XML in a SOAP envelope (``soap:``).
    format: Literal["json", "soap"] = "json"
    soap: SoapSettings | None = None
    # Guardrails (omniout.deliver.limits); the key defaults to the route name.
    limit_key: str | None = Field(default=None, pattern=LIMIT_KEY_PATTERN)
    max_concurrency: int | None = Field(default=None, ge=1)
    rate_limit: RateLimitSettings | None = None
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=1)
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1)

    @model_validator(mode="after")
    def _soap_section(self) -> EndpointSettings:
        if self.soap is not None and self.format != "soap":
            raise ValueError("a soap section needs format: soap")
        if self.url is None and (self.soap is None or self.soap.wsdl is None):
            raise ValueError("url: is required (only a soap.wsdl port gives one)")
        return self

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @field_validator("headers")
    @classmethod
    def _no_line_breaks(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} contains a line break")
        return headers


class RequestIdExpression(_Section):
    """A request id computed from the event: for events without an id field.

    The JSONata expression must give one value, e.g. the CDC form
    ``ChangeEventHeader.transactionKey & ':' & ChangeEventHeader.sequenceNumber``.
    """

    expr: str = Field(min_length=1)


class RouteSettings(_Section):
    """One way out for the events of one topic."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    topic: str
    schema_name: str | None = Field(default=None, alias="schema")
    # A field (dotted for nested ones), or {expr: JSONata} to compute it.
    request_id: str | RequestIdExpression = "EventUuid"
    condition: str | None = None
    mapping: str | dict[str, str | RowSettings] | None = None
    endpoint: EndpointSettings
    retry: RetrySettings = RetrySettings()
    ordering: Literal["key", "partition", "none"] = "key"
    dead_letter_topic: str | None = None
    # Where the outcome of each delivery is written (see omniout.replies).
    reply_topic: str | None = None
    # CDC gap events carry no values: dead-letter them unless told otherwise.
    gap_events: Literal["dead-letter", "deliver"] = "dead-letter"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("topic", "dead_letter_topic", "reply_topic")
    @classmethod
    def _kafka_topic(cls, name: str | None) -> str | None:
        return None if name is None else kafka_topic(name)

    @property
    def dlq_topic(self) -> str:
        return self.dead_letter_topic or f"{self.topic}.dlq"


class Settings(BaseSettings):
    """The whole configuration of one omniout process."""

    model_config = SettingsConfigDict(
        env_prefix="OMNIOUT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    kafka: KafkaSettings = KafkaSettings()
    schemas_dir: Path = Path("schemas")
    # ``schema_registry_url: URL`` is short for ``schema_registry: {url: URL}``.
    schema_registry_url: str | None = None
    schema_registry: RegistrySettings | None = None
    ledger: LedgerSettings = LedgerSettings()
    processing: ProcessingSettings = ProcessingSettings()
    admin: AdminSettings = AdminSettings()
    log_format: Literal["text", "json"] = "text"
    routes: list[RouteSettings] = Field(min_length=1)
    credentials: dict[
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")], CredentialSettings
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_route_names(self) -> Settings:
        seen: set[str] = set()
        for route in self.routes:
            if route.name in seen:
                raise ValueError(f"route name {route.name!r} is used twice")
            seen.add(route.name)
        return self

    @model_validator(mode="before")
    @classmethod
    def _registry_shorthand(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("schema_registry_url"):
            return data
        if data.get("schema_registry") is not None:
            raise ValueError("give schema_registry or schema_registry_url, not both")
        return {**data, "schema_registry": {"url": data["schema_registry_url"]}}

    @property
    def topics(self) -> list[str]:
        return sorted({route.topic for route in self.routes})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment wins.
        return env_settings, init_settings


def load_settings(path: str | Path) -> Settings:
    """Read and check the config file; raise ConfigError on any problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "", f"cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", f"is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(file, "", "must be a mapping of settings")
    data = _expand(data, file, "")
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise _config_error(file, exc) from None
    endpoints = [
        (f"routes[{i}].endpoint", r.endpoint.credential, r.endpoint.headers)
        for i, r in enumerate(settings.routes)
    ]
    check_references(settings.credentials, endpoints, file)
    plan_limits(settings.routes, file=file)
    return settings


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(node: Any, file: str, key: str) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in string values.

    This is how one file serves several environments (a receiver's URL on a
    laptop and in a container); secrets have their own ``*_env`` settings.
    """
    if isinstance(node, dict):
        return {
            k: _expand(v, file, f"{key}.{k}" if key else str(k))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_expand(v, file, f"{key}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name, default)
        if found is None:
            raise ConfigError(file, key, f"environment variable {name} is not set")
        return found

    return _VARIABLE.sub(value, node)


def _config_error(file: str, exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(_key_part(part) for part in first["loc"])
    reason = first["msg"]
    if len(exc.errors()) > 1:
        reason += f" (and {len(exc.errors()) - 1} more problems)"
    return ConfigError(file, key.replace(".[", "["), reason)


def _key_part(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)
