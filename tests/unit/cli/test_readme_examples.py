"""The examples of README.md, run as the README shows them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from omniout.cli.main import app
from omniout.mapping import Expression

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "README.md"
_BLOCK = re.compile(r"<!-- example: ([a-z-]+) -->\n```[a-z]*\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    return dict(_BLOCK.findall(PAGE.read_text(encoding="utf-8")))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schemas").symlink_to(ROOT / "schemas")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(workdir: Path, config: str, route: str, event: str) -> Any:
    (workdir / "config.yaml").write_text(config, encoding="utf-8")
    (workdir / "event.json").write_text(event, encoding="utf-8")
    args = ["check", "-c", "config.yaml", "--route", route, "--event", "event.json"]
    return CliRunner().invoke(app, args)


@pytest.mark.parametrize(
    ("config", "route", "event", "output"),
    [
        ("rest-config", "order-to-oms", "order-event", "rest-output"),
        ("soap-config", "order-to-erp", "order-event", "soap-output"),
        ("cdc-config", "account-changes", "cdc-event", "cdc-output"),
    ],
)
def test_check_prints_what_the_page_shows(
    workdir: Path, config: str, route: str, event: str, output: str
) -> None:
    page = examples()

    result = check(workdir, page[config], route, page[event])

    assert result.exit_code == 0, result.output
    assert result.output == page[output]


def test_check_refuses_a_gap_event_as_the_page_says(workdir: Path) -> None:
    page = examples()
    gap = orjson.loads(page["cdc-event"])
    gap["ChangeEventHeader"].update(changeType="GAP_OVERFLOW", recordIds=[])
    event = orjson.dumps(gap).decode()

    result = check(workdir, page["cdc-config"], "account-changes", event)

    assert result.exit_code == 1
    assert (
        "GAP_OVERFLOW for Account: too many changes to capture; "
        "re-read the changed records"
    ) in result.output


def test_the_helper_examples_give_what_the_page_shows() -> None:
    page = examples()
    event = orjson.loads(page["order-event"])
    lines = [line for line in page["helpers"].splitlines() if line.strip()]

    results = {}
    for line in lines:
        source, expected = (part.strip() for part in line.split("→"))
        found = Expression(source).evaluate(event, {"nowMillis": 1_764_003_600_000})
        results[source] = (found, orjson.loads(expected))

    assert len(results) == 8
    assert all(found == expected for found, expected in results.values()), results
