"""The ``soap:`` section of an endpoint, as read from the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = ["SoapSettings"]


class SoapSettings(BaseModel):
    """How a route's payload is wrapped and announced as a SOAP message.

    ``action`` goes out in the ``SOAPAction`` header (1.1) or the ``action``
    parameter of the media type (1.2). ``operation`` names an element that
    wraps the payload inside the Body; ``body_namespace`` is the namespace
    of the Body's content where the payload sets none with ``#ns``.
    ``profile: outbound-messaging`` accepts an answer only when it holds
    ``<Ack>true</Ack>``, as the CRM platform's Outbound Messaging does.

    With ``wsdl`` (a local file), ``operation`` names an operation of the
    WSDL, and the version, the action and the Body's content come from
    its binding (see :mod:`omniout.payload.wsdl`); ``service`` and
    ``port`` choose among several.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal["1.1", "1.2"] = "1.1"
    action: str = ""
    body_namespace: str | None = None
    operation: str | None = None
    profile: Literal["plain", "outbound-messaging"] = "plain"
    wsdl: Path | None = None
    service: str | None = None
    port: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 1.1 as a number.
        return str(value) if isinstance(value, float) else value

    @field_validator("action")
    @classmethod
    def _plain_action(cls, action: str) -> str:
        if any(c in action for c in '"\r\n\\'):
            raise ValueError("must not contain quotes, backslashes or line breaks")
        return action

    @model_validator(mode="after")
    def _wsdl_or_written(self) -> SoapSettings:
        if self.wsdl is None:
            if self.service is not None or self.port is not None:
                raise ValueError("service and port choose from a wsdl")
            return self
        given = {"version", "action", "body_namespace"} & self.model_fields_set
        if given:
            raise ValueError(
                f"{', '.join(sorted(given))}: given by the wsdl, not the config"
            )
        if not self.operation:
            raise ValueError("a wsdl needs the operation to call")
        return self

    @model_validator(mode="after")
    def _xml_names(self) -> SoapSettings:
        # Checked here so that building an envelope can only fail on event
        # data, never on the config.
        try:
            etree.QName(self.body_namespace or None, self.operation or "Body")
        except ValueError as exc:
            raise ValueError(f"operation or body_namespace: {exc}") from None
        return self
