"""How ``omniout publish`` frames its records, and the registration it needs.

Two framings, as the decoder reads them: ``single-object`` (the schema's
fingerprint, found by consumers in their ``schemas/`` folder) and
``confluent`` (the id a schema registry gives the schema). Without
``--framing`` the config decides: Confluent framing when it names a schema
registry, single-object encoding otherwise.

For the Confluent framing the schema is registered once per run, under
``--subject`` or the topic's TopicNameStrategy subject ``<topic>-value``,
before any record is encoded; every record then carries the id that the
registry answered. A registry that refuses the schema or cannot be reached
ends the command with status 1 before anything is sent.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from omniout.cli.common import fail
from omniout.config import Settings
from omniout.decode import KnownSchema
from omniout.decode.framing import Framing
from omniout.decode.settings import (
    RegistrySettings,
    registry_client,
    registry_password,
)
from omniout.deliver.auth.secret import Secret
from omniout.errors import ConfigError, RegistryUnavailableError, ValidationError

__all__ = [
    "FramingChoice",
    "FramingOption",
    "PublishFraming",
    "SubjectOption",
    "choose_framing",
    "register_schema",
]


class FramingChoice(enum.StrEnum):
    """The values of ``--framing``: the decoder's two framings."""

    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"


FramingOption = Annotated[
    FramingChoice | None,
    typer.Option(
        help="Record framing; default: confluent when the config names a "
        "schema_registry, else single-object.",
        show_default=False,
    ),
]
SubjectOption = Annotated[
    str | None,
    typer.Option(help="Registry subject for confluent; default: TOPIC-value."),
]


@dataclass(frozen=True, slots=True)
class PublishFraming:
    """The framing chosen for one run, with what the Confluent framing needs.

    ``subject``, ``registry`` and ``password`` are set for ``confluent``
    only; the password is read when the framing is chosen.
    """

    framing: Framing
    subject: str | None = None
    registry: RegistrySettings | None = None
    password: Secret | None = None


def choose_framing(
    settings: Settings,
    config: Path,
    topic: str,
    framing: FramingChoice | None,
    subject: str | None,
) -> PublishFraming:
    """The framing the options and the config ask for, or exit 2 saying why."""
    registry = settings.schema_registry
    if framing is None:
        framing = FramingChoice.CONFLUENT
        if registry is None:
            framing = FramingChoice.SINGLE_OBJECT
    if framing is FramingChoice.SINGLE_OBJECT:
        if subject is not None:
            fail("--subject is for --framing confluent: single-object names no subject")
        return PublishFraming("single-object")
    if registry is None:
        fail("--framing confluent needs a schema_registry in the config")
    if subject is None:
        subject = f"{topic}-value"
    if not subject.strip():
        fail("--subject must not be empty")
    try:
        password = registry_password(registry, config_file=str(config))
    except ConfigError as exc:
        fail(str(exc))
    return PublishFraming("confluent", subject, registry, password)


def register_schema(framing: PublishFraming, schema: KnownSchema) -> int | None:
    """The registry id of ``schema`` for the Confluent framing, else None.

    Registers ``schema`` under the framing's subject, once. A refusal (an
    incompatible or invalid schema) and an unreachable registry exit 1 with
    the registry's reason; nothing is sent either way.
    """
    settings, subject = framing.registry, framing.subject
    if settings is None or subject is None:
        return None

    async def register() -> int:
        async with registry_client(settings, framing.password) as registry:
            return await registry.register(subject, schema)

    try:
        return asyncio.run(register())
    except ValidationError as exc:
        fail(f"{exc.reason}; nothing was sent", code=1)
    except RegistryUnavailableError as exc:
        fail(f"{exc}; nothing was sent", code=1)
