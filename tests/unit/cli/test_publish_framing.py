"""How ``omniout publish`` picks its framing from the options and the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from omniout.cli.framing import FramingChoice, PublishFraming, choose_framing
from omniout.config import Settings
from omniout.decode.settings import RegistrySettings

REGISTRY = "http://127.0.0.1:8081/apis/ccompat/v7"
CONFIG = Path("omniout.yaml")


def settings(**extra: Any) -> Settings:
    route = {"name": "orders", "topic": "orders", "endpoint": {"url": "http://x"}}
    return Settings.model_validate({"routes": [route], **extra})


def with_registry(**registry: Any) -> Settings:
    return settings(schema_registry={"url": REGISTRY, **registry})


def test_without_a_registry_the_default_is_single_object() -> None:
    chosen = choose_framing(settings(), CONFIG, "orders", None, None)

    assert chosen == PublishFraming("single-object")


def test_with_a_registry_the_default_is_confluent_with_the_topic_subject() -> None:
    chosen = choose_framing(with_registry(), CONFIG, "orders", None, None)

    assert chosen == PublishFraming(
        "confluent", "orders-value", RegistrySettings(url=REGISTRY)
    )


def test_the_shorthand_key_also_makes_confluent_the_default() -> None:
    chosen = choose_framing(
        settings(schema_registry_url=REGISTRY), CONFIG, "orders", None, None
    )

    assert chosen.framing == "confluent"


def test_single_object_can_be_asked_for_with_a_registry() -> None:
    chosen = choose_framing(
        with_registry(), CONFIG, "orders", FramingChoice.SINGLE_OBJECT, None
    )

    assert chosen == PublishFraming("single-object")


def test_a_subject_option_replaces_the_topic_subject() -> None:
    chosen = choose_framing(with_registry(), CONFIG, "orders", None, "shared-orders")

    assert chosen.subject == "shared-orders"


def test_the_password_is_read_when_the_framing_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGISTRY_PASSWORD", "s3cret")
    config = with_registry(username="omniout", password={"env": "REGISTRY_PASSWORD"})

    chosen = choose_framing(config, CONFIG, "orders", None, None)

    assert chosen.password is not None
    assert chosen.password.reveal() == "s3cret"


@pytest.mark.parametrize(
    ("config", "framing", "subject", "message"),
    [
        (
            settings(),
            FramingChoice.CONFLUENT,
            None,
            "--framing confluent needs a schema_registry in the config",
        ),
        (
            settings(),
            None,
            "orders-value",
            "--subject is for --framing confluent",
        ),
        (
            with_registry(),
            FramingChoice.SINGLE_OBJECT,
            "orders-value",
            "--subject is for --framing confluent",
        ),
        (with_registry(), None, "  ", "--subject must not be empty"),
        (
            with_registry(username="omniout", password={"env": "NOT_SET_ANYWHERE"}),
            None,
            None,
            "schema_registry.password: environment variable NOT_SET_ANYWHERE",
        ),
    ],
)
def test_a_contradiction_exits_2_with_its_reason(
    config: Settings,
    framing: FramingChoice | None,
    subject: str | None,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit) as caught:
        choose_framing(config, CONFIG, "orders", framing, subject)

    assert caught.value.exit_code == 2
    assert message in capsys.readouterr().err
