"""The ``ledger`` section: where delivered request ids are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.errors import ConfigError

ROUTES = """
routes:
  - name: orders
    topic: Order_Completed__e
    endpoint: {url: "http://127.0.0.1:9000/orders"}
"""


def write(tmp_path: Path, ledger: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"ledger: {ledger}\n{ROUTES}")
    return path


def test_the_table_defaults_to_the_stores_own(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "{url: 'sqlite:///l.db'}"))

    assert settings.ledger.table is None


def test_a_table_may_be_named(tmp_path: Path) -> None:
    path = write(tmp_path, "{url: 'postgresql://db/omniout', table: orders_ledger}")

    assert load_settings(path).ledger.table == "orders_ledger"


@pytest.mark.parametrize("table", ["bad-name", "x; DROP TABLE y", "1st", "t" * 64])
def test_a_table_name_that_is_no_plain_identifier_is_refused(
    tmp_path: Path, table: str
) -> None:
    path = write(tmp_path, f"{{table: '{table}'}}")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == "ledger.table"
    assert "should match pattern" in caught.value.reason
