"""Topic names: Kafka's rules, and channel names that stand for topics."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omniout.cli.main import app
from omniout.config import load_settings
from omniout.errors import ConfigError
from omniout.topics import kafka_topic


@pytest.mark.parametrize(
    ("name", "topic"),
    [
        ("event.Order_Completed__e", "event.Order_Completed__e"),
        ("/event/Order_Completed__e", "event.Order_Completed__e"),
        ("/data/AccountChangeEvent", "data.AccountChangeEvent"),
        ("/data/ChangeEvents", "data.ChangeEvents"),
        ("orders-v2_eu", "orders-v2_eu"),
        ("a" * 249, "a" * 249),
    ],
)
def test_topics_and_channel_names_give_the_kafka_topic(name: str, topic: str) -> None:
    assert kafka_topic(name) == topic


@pytest.mark.parametrize(
    "name", ["", ".", "..", "/", "orders topic", "orders!", "é", "a" * 250]
)
def test_names_kafka_refuses_are_errors(name: str) -> None:
    with pytest.raises(ValueError, match="is not a Kafka topic name"):
        kafka_topic(name)


CONFIG = """
routes:
  - name: orders
    topic: {topic}
    reply_topic: /event/Order_Replies__e
    endpoint: {{url: "https://oms.example/orders"}}
"""


def test_a_route_may_name_its_topic_as_a_channel(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(topic="/event/Order_Completed__e"))

    [route] = load_settings(path).routes

    assert route.topic == "event.Order_Completed__e"
    assert route.dlq_topic == "event.Order_Completed__e.dlq"
    assert route.reply_topic == "event.Order_Replies__e"


def test_an_illegal_topic_stops_the_config_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(topic="'orders for erp'"))

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == "routes[0].topic"
    assert "'orders for erp' is not a Kafka topic name" in caught.value.reason


def test_a_bad_topic_argument_exits_2_before_anything_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(topic="orders"))

    result = CliRunner().invoke(
        app, ["publish", "-c", str(path), "--topic", "bad topic", "-f", "missing"]
    )

    assert result.exit_code == 2
    assert "is not a Kafka topic name" in result.output
