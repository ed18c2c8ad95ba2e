from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.errors import ConfigError

VALID = """
kafka:
  bootstrap_servers: 127.0.0.1:9092
routes:
  - name: orders
    topic: Order_Completed__e
    endpoint:
      url: ${RECEIVER_URL:-http://127.0.0.1:9000}/orders
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_a_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))

    route = settings.routes[0]
    assert route.endpoint.url == "http://127.0.0.1:9000/orders"
    assert route.dlq_topic == "Order_Completed__e.dlq"
    assert settings.kafka.auto_offset_reset == "earliest"
    assert settings.topics == ["Order_Completed__e"]


def test_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIOUT_KAFKA__GROUP_ID", "from-env")
    monkeypatch.setenv("RECEIVER_URL", "http://receiver:9000")

    settings = load_settings(write(tmp_path, VALID))

    assert settings.kafka.group_id == "from-env"
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.routes[0].endpoint.url == "http://receiver:9000/orders"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (VALID.replace("9092", "9092\n  group: x"), "kafka.group", "Extra inputs"),
        (VALID.replace("url: $", "url: ftp$"), "routes[0].endpoint.url", "http"),
        (VALID + "    retry: {max_attempts: 0}\n", "routes[0].retry.max_attempts",
         "greater than or equal to 1"),
        ("routes: []\n", "routes", "at least 1"),
        ("routes: [\n", "", "not valid YAML"),
    ],
)
def test_errors_name_the_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "nope.yaml")
