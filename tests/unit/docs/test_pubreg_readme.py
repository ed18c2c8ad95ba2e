"""The registry settings examples of the README load and check as it says."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omniout.cli.main import app
from omniout.config import load_settings
from tests.doc_examples import example

ROOT = Path(__file__).parents[3]


def test_the_credentials_example_names_user_password_and_timeout(
    tmp_path: Path,
) -> None:
    registry = load_settings(example("registry-credentials", tmp_path)).schema_registry

    assert registry is not None
    assert registry.url == "https://registry.example/apis/ccompat/v7"
    assert registry.username == "omniout"
    assert registry.password is not None
    assert registry.password.env == "REGISTRY_PASSWORD"
    assert registry.timeout == 5


def test_the_local_example_is_the_stack_registry_with_the_default_timeout(
    tmp_path: Path,
) -> None:
    registry = load_settings(example("registry-local", tmp_path)).schema_registry

    assert registry is not None
    assert registry.url == "http://127.0.0.1:8081/apis/ccompat/v7"
    assert (registry.username, registry.password, registry.timeout) == (
        None,
        None,
        10,
    )


def check(config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check", "-c", str(config)])
    return result.exit_code, result.output


def test_check_reads_the_registry_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = example("registry-credentials", tmp_path)
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("REGISTRY_PASSWORD", raising=False)

    missing = check(config)
    monkeypatch.setenv("REGISTRY_PASSWORD", "registry-s3cret")
    present = check(config)

    assert missing == (
        2,
        f"omniout: error: {config}: schema_registry.password: "
        "environment variable REGISTRY_PASSWORD is not set\n",
    )
    assert present == (0, f"{config}: OK, 1 route(s)\n")
