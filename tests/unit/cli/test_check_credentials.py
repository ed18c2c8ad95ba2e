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


PREVIEW = """
credentials:
  oms:
    type: oauth2_client_credentials
    token_url: https://login.example/oauth/token
    client_id: omniout
    client_secret: {env: CHECK_OMS_SECRET}
  partner:
    type: hmac
    secret: {env: CHECK_PARTNER_SECRET}
routes:
  - name: orders
    topic: /event/Order_Completed__e
    endpoint: {url: "https://oms.example/orders", credential: oms}
  - name: webhook
    topic: /event/Order_Completed__e
    endpoint: {url: "https://partner.example/hook", credential: partner}
"""


def preview(tmp_path: Path, route: str) -> tuple[int, str]:
    config = tmp_path / "config.yaml"
    config.write_text(PREVIEW)
    event = tmp_path / "event.json"
    event.write_text('{"EventUuid": "u-1", "Order_Number__c": "42"}')
    args = ["check", "-c", str(config), "--route", route, "--event", str(event)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    oms, partner = "oms-s3cret-value", "whsec_cGFydG5lci1zZWNyZXQ="
    monkeypatch.setenv("CHECK_OMS_SECRET", oms)
    monkeypatch.setenv("CHECK_PARTNER_SECRET", partner)
    return oms, partner


def test_the_preview_shows_the_oauth2_header_masked(
    tmp_path: Path, secrets: tuple[str, str]
) -> None:
    code, output = preview(tmp_path, "orders")

    assert code == 0, output
    assert (
        "Authorization: Bearer ******** (a token from "
        "https://login.example/oauth/token, client 'omniout')  [credential 'oms']"
    ) in output
    assert all(secret not in output for secret in secrets)


def test_the_preview_shows_the_signature_headers_masked(
    tmp_path: Path, secrets: tuple[str, str]
) -> None:
    code, output = preview(tmp_path, "webhook")

    assert code == 0, output
    assert "webhook-signature: v1,********  [credential 'partner']" in output
    assert "webhook-id: the request id  [credential 'partner']" in output
    assert all(secret not in output for secret in secrets)
