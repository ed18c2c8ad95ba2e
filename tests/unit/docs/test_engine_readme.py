"""The README's complete config example is one that loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omniout.cli.main import app
from omniout.config import load_settings

ROOT = Path(__file__).parents[3]
README = ROOT / "README.md"
_YAML = re.compile(
    r"^<!-- example: complete-config -->\n```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL
)


def examples() -> list[str]:
    return _YAML.findall(README.read_text(encoding="utf-8"))


def test_the_readme_has_a_config_example() -> None:
    assert len(examples()) == 1


@pytest.mark.parametrize("example", examples())
def test_the_config_example_passes_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    config = tmp_path / "omniout.yaml"
    config.write_text(example, encoding="utf-8")
    monkeypatch.chdir(ROOT)

    result = CliRunner().invoke(app, ["check", "-c", str(config)])

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{config}: OK, 1 route(s)\n"


@pytest.mark.parametrize("example", examples())
def test_the_config_example_shows_the_defaults_it_says_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    monkeypatch.delenv("OMS_URL", raising=False)
    config = tmp_path / "omniout.yaml"
    config.write_text(example, encoding="utf-8")

    settings = load_settings(config)

    assert settings.kafka.session_timeout == 10
    assert settings.processing.max_in_flight == 256
    assert settings.processing.shutdown_timeout == 30
    assert settings.ledger.retention == 7 * 24 * 3600
    assert settings.routes[0].endpoint.url == (
        "http://127.0.0.1:9000/orders/{Order_Number__c}"
    )
