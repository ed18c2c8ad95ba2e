from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omniout.cli.main import app

CONFIG = """
credentials:
  erp: {type: bearer, token: {env: CHECK_ERP_TOKEN}}
routes:
  - name: orders
    topic: /event/Order_Completed__e
    endpoint: {url: "https://erp.example/orders", credential: erp}
"""


def check(tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    result = CliRunner().invoke(app, ["check", "-c", str(path)])
    return result.exit_code, result.output


def test_check_fails_when_a_secret_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHECK_ERP_TOKEN", raising=False)

    code, output = check(tmp_path)

    assert code == 2
    assert "credentials.erp.token: environment variable CHECK_ERP_TOKEN" in output


def test_check_passes_when_every_secret_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECK_ERP_TOKEN", "t0k3n")

    code, output = check(tmp_path)

    assert code == 0
    assert "OK, 1 route(s)" in output
    assert "t0k3n" not in output
