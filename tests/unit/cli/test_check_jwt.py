"""``omniout check`` with the signed JWT credentials of the README."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from omniout.cli.main import app
from tests.doc_examples import example
from tests.unit.deliver.auth.keys import ec_key, pem, rsa_key

PAGE = Path(__file__).resolve().parents[3] / "README.md"
PASSWORD = "kp-9z8y7x-never-shown"


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Both examples' keys in place; returns the texts that must not show."""
    rsa, ec = pem(rsa_key(), PASSWORD).reveal(), pem(ec_key()).reveal()
    (tmp_path / "crm-jwt.key").write_text(rsa)
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("CRM_KEY_PASSWORD", PASSWORD)
    monkeypatch.setenv("ERP_SIGNING_KEY", ec)
    monkeypatch.setenv("CRM_LOGIN_URL", "https://login.salesforce.com")
    for name in ("CRM_URL", "IDP_URL", "ERP_URL"):
        monkeypatch.setenv(name, "https://api.example")
    lines = (rsa + ec).splitlines()
    return [*(line for line in lines if "-----" not in line), PASSWORD]


def check(tmp_path: Path, name: str, route: str) -> tuple[int, str]:
    config = example(name, tmp_path)
    event = tmp_path / "event.json"
    event.write_text('{"EventUuid": "u-1", "Order_Number__c": "42"}')
    args = ["check", "-c", str(config), "--route", route, "--event", str(event)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_the_preview_of_the_jwt_bearer_grant_is_the_one_the_page_shows(
    tmp_path: Path, keys: list[str]
) -> None:
    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("### Signed JWT credentials") :]
    section = section[: section.index("\n### ")]
    shown = [
        line.strip()
        for line in section.splitlines()
        if line.startswith("    Authorization: Bearer")
    ]

    code, output = check(tmp_path, "jwt-bearer", "accounts")

    assert code == 0, output
    assert shown
    assert all(line in output for line in shown)
    assert all(secret not in output for secret in keys)


def test_the_preview_of_private_key_jwt_says_the_client_signs(
    tmp_path: Path, keys: list[str]
) -> None:
    code, output = check(tmp_path, "private-key-jwt", "orders")

    assert code == 0, output
    assert (
        "Authorization: Bearer ******** (a token from https://api.example"
        "/oauth2/token, client 'omniout-prod', by a signed JWT)"
    ) in output
    assert all(secret not in output for secret in keys)


def test_check_fails_on_a_wrong_key_password_without_showing_it(
    tmp_path: Path, keys: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_KEY_PASSWORD", "not-the-password")

    code, output = check(tmp_path, "jwt-bearer", "accounts")

    assert code != 0
    assert "credentials.crm.key_password: does not unlock the private key" in output
    assert "not-the-password" not in output
