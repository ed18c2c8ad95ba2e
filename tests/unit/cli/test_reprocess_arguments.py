"""Bad arguments of the offsets and dlq commands exit 2 before connecting."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omniout.cli.main import app

CONFIG = """
kafka:
  bootstrap_servers: 127.0.0.1:1
routes:
  - name: orders
    topic: orders
    endpoint:
      url: http://127.0.0.1:9/orders
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["offsets", "reset", "--topic", "orders"], "give exactly one of"),
        (
            ["offsets", "reset", "--topic", "orders", "--to-latest", "--shift-by", "2"],
            "give exactly one of",
        ),
        (
            ["offsets", "reset", "--topic", "orders", "--to-datetime", "noon"],
            "is not an ISO 8601 time",
        ),
        (
            ["offsets", "reset", "--topic", "o", "--to-latest", "--partitions", "1,x"],
            "is not a comma-separated list of numbers",
        ),
        (["dlq", "show", "--topic", "o", "--until", "soon"], "is not an ISO 8601"),
        (["dlq", "replay", "--topic", "o", "--offsets", "1:"], "is not OFFSET"),
    ],
)
def test_a_bad_argument_exits_2_with_a_message(
    config: str, args: list[str], message: str
) -> None:
    # The broker address is unreachable: getting past the arguments would
    # fail differently, so exit status 2 proves nothing was attempted.
    result = CliRunner().invoke(app, [*args, "-c", config])

    assert result.exit_code == 2
    assert message in result.output


def test_a_bad_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("routes: []\n", encoding="utf-8")

    result = CliRunner().invoke(
        app, ["offsets", "show", "-c", str(path), "--topic", "orders"]
    )

    assert result.exit_code == 2
    assert "routes" in result.output
