from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.deliver.auth import (
    OAuth2ClientCredentials,
    OAuth2JwtBearer,
    open_credentials,
)
from omniout.errors import ConfigError
from tests.doc_examples import example
from tests.unit.deliver.auth.keys import ec_key, pem, rsa_key

ROUTES = """
routes:
  - name: orders
    topic: /event/Order_Completed__e
    endpoint:
      url: https://erp.example/orders
      credential: erp
"""
TOKEN = "token_url: https://idp.example/token, client_id: c"


def write(tmp_path: Path, credentials: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"credentials:\n  {credentials}\n{ROUTES}")
    return path


@pytest.mark.parametrize(
    ("credentials", "key", "reason"),
    [
        (f"erp: {{type: oauth2_client_credentials, {TOKEN},"
         " client_auth: private_key_jwt}",
         "credentials.erp.oauth2_client_credentials", "needs a private_key"),
        (f"erp: {{type: oauth2_client_credentials, {TOKEN},"
         " client_auth: private_key_jwt, private_key: {env: K},"
         " client_secret: {env: S}}",
         "credentials.erp.oauth2_client_credentials", "remove client_secret"),
        (f"erp: {{type: oauth2_client_credentials, {TOKEN}}}",
         "credentials.erp.oauth2_client_credentials",
         "client_auth header needs a client_secret"),
        (f"erp: {{type: oauth2_client_credentials, {TOKEN},"
         " client_secret: {env: S}, key_id: k, algorithm: ES256}",
         "credentials.erp.oauth2_client_credentials",
         "algorithm, key_id: only for client_auth private_key_jwt"),
        (f"erp: {{type: oauth2_jwt_bearer, {TOKEN}, subject: u,"
         " private_key: inline-pem}",
         "credentials.erp.oauth2_jwt_bearer.private_key",
         "never written in the config"),
        (f"erp: {{type: oauth2_jwt_bearer, {TOKEN}, private_key: {{env: K}}}}",
         "credentials.erp.oauth2_jwt_bearer.subject", "Field required"),
        (f"erp: {{type: oauth2_jwt_bearer, {TOKEN}, subject: u,"
         " private_key: {env: K}, algorithm: HS256}",
         "credentials.erp.oauth2_jwt_bearer.algorithm", "RS256"),
        (f"erp: {{type: oauth2_jwt_bearer, {TOKEN}, subject: u,"
         " private_key: {env: K}, assertion_lifetime: 0}",
         "credentials.erp.oauth2_jwt_bearer.assertion_lifetime", "greater than"),
    ],
)
def test_bad_jwt_settings_are_config_errors_with_their_key(
    tmp_path: Path, credentials: str, key: str, reason: str
) -> None:
    path = write(tmp_path, credentials)

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == key
    assert reason in caught.value.reason
    assert "inline-pem" not in str(caught.value)


def test_the_readme_examples_open_with_their_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crm-jwt.key").write_text(pem(rsa_key(), "kp").reveal())
    environ = {
        "CRM_KEY_PASSWORD": "kp",
        "ERP_SIGNING_KEY": pem(ec_key()).reveal(),
    }
    for name in ("CRM_LOGIN_URL", "CRM_URL", "IDP_URL", "ERP_URL"):
        monkeypatch.setenv(name, "https://idp.example")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    opened = {}
    for name in ("jwt-bearer", "private-key-jwt"):
        path = example(name, tmp_path)
        settings = load_settings(path)
        opened.update(
            open_credentials(settings.credentials, file=str(path), environ=environ)
        )

    assert isinstance(opened["crm"], OAuth2JwtBearer)
    assert isinstance(opened["erp-signed"], OAuth2ClientCredentials)
    assert repr(opened["crm"]) == "OAuth2JwtBearer('crm')"


def test_a_bad_key_file_stops_the_start_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "crm-jwt.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n")
    for name in ("CRM_LOGIN_URL", "CRM_URL"):
        monkeypatch.setenv(name, "https://idp.example")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    path = example("jwt-bearer", tmp_path)
    settings = load_settings(path)

    with pytest.raises(ConfigError) as caught:
        open_credentials(
            settings.credentials, file=str(path), environ={"CRM_KEY_PASSWORD": "p"}
        )

    # Damaged text is reported as such, even though a password is given.
    assert caught.value.key == "credentials.crm.private_key"
    assert caught.value.reason.startswith("is not a PEM private key")
    assert "AAAA" not in str(caught.value)
