"""raise_if_rejected tells only a refusal apart; silence stays transient."""

from __future__ import annotations

import socket

import pytest

from omniout.config import KafkaSettings
from omniout.consume.rejection import raise_if_rejected
from omniout.errors import ConfigError


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_broker_that_does_not_answer_is_not_a_rejection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REJECTION_TEST_PASSWORD", "secret")
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{closed_port()}",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="omniout",
        sasl_password_env="REJECTION_TEST_PASSWORD",
    )
    await raise_if_rejected(kafka)  # raises nothing: the caller retries


async def test_a_protocol_without_sasl_is_never_probed() -> None:
    # The variable is unset: a probe would raise ConfigError reading it.
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{closed_port()}",
        security_protocol="SSL",
        sasl_password_env="REJECTION_TEST_UNSET",
    )
    await raise_if_rejected(kafka)  # raises nothing: the caller retries


async def test_an_unset_password_variable_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REJECTION_TEST_UNSET", raising=False)
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{closed_port()}",
        security_protocol="SASL_PLAINTEXT",
        sasl_password_env="REJECTION_TEST_UNSET",
    )
    with pytest.raises(ConfigError) as raised:
        await raise_if_rejected(kafka)
    assert raised.value.key == "kafka.sasl_password_env"
