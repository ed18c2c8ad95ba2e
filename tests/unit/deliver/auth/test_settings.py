from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.deliver.auth import (
    ApiKey,
    BasicAuth,
    BearerToken,
    HeaderCredential,
    OAuth2ClientCredentials,
    WebhookSignature,
    open_credentials,
)
from omniout.errors import ConfigError
from tests.doc_examples import example

ROUTES = """
routes:
  - name: orders
    topic: /event/Order_Completed__e
    endpoint:
      url: https://erp.example/orders
      credential: erp
"""

ALL_SCHEMES = """
credentials:
  erp: {type: bearer, token: {env: T}}
  plain: {type: none}
  basic: {type: basic, username: u, password: {env: T}}
  key: {type: api_key, name: X-Key, value: {env: T}}
  query: {type: api_key, in: query, name: k, value: {env: T}}
  oauth:
    type: oauth2_client_credentials
    token_url: https://idp.example/token
    client_id: c
    client_secret: {env: T}
  signing: {type: hmac, secret: {env: WH}}
""" + ROUTES

ENV = {"T": "value", "WH": "whsec_c2VjcmV0"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_every_scheme_loads_and_opens(tmp_path: Path) -> None:
    path = write(tmp_path, ALL_SCHEMES)
    settings = load_settings(path)

    opened = open_credentials(settings.credentials, file=str(path), environ=ENV)

    kinds = {name: type(credential) for name, credential in opened.items()}
    assert kinds == {
        "erp": BearerToken,
        "plain": HeaderCredential,
        "basic": BasicAuth,
        "key": ApiKey,
        "query": ApiKey,
        "oauth": OAuth2ClientCredentials,
        "signing": WebhookSignature,
    }
    assert settings.routes[0].endpoint.credential == "erp"
    assert all("value" not in repr(c) for c in opened.values())


@pytest.mark.parametrize(
    ("credentials", "key", "reason"),
    [
        ("erp: {type: bearer, token: plain-text-token}",
         "credentials.erp.bearer.token", "never written in the config"),
        ("erp: {type: bearer, token: {env: T, file: /x}}",
         "credentials.erp.bearer.token", "exactly one of env or file"),
        ("erp: {type: bearer, token: {env: 'not a name'}}",
         "credentials.erp.bearer.token.env", "pattern"),
        ("erp: {type: kerberos}", "credentials.erp", "does not match"),
        ("erp: {type: basic, username: 'a:b', password: {env: T}}",
         "credentials.erp.basic.username", "cannot contain ':'"),
        ("erp: {type: api_key, name: 'X Key', value: {env: T}}",
         "credentials.erp.api_key.name", "pattern"),
        ("erp: {type: api_key, in: cookie, name: k, value: {env: T}}",
         "credentials.erp.api_key.in", "'header' or 'query'"),
        ("erp: {type: oauth2_client_credentials, token_url: ftp://x, client_id: c,"
         " client_secret: {env: T}}",
         "credentials.erp.oauth2_client_credentials.token_url", "http"),
        ("erp: {type: none, tls: {client_key: /k.pem}}",
         "credentials.erp.none.tls", "need a client_cert"),
        ("'bad name': {type: none}", "credentials.bad name[key]", "pattern"),
    ],
)
def test_bad_credentials_are_config_errors_with_their_key(
    tmp_path: Path, credentials: str, key: str, reason: str
) -> None:
    path = write(tmp_path, f"credentials:\n  {credentials}\n{ROUTES}")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert (caught.value.file, caught.value.key) == (str(path), key)
    assert reason in caught.value.reason
    assert "plain-text-token" not in str(caught.value)


def test_an_unknown_credential_name_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "credentials:\n  crm: {type: none}\n" + ROUTES)

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == "routes[0].endpoint.credential"
    assert caught.value.reason == "no credential named 'erp' (known: crm)"


def test_a_header_the_credential_sets_cannot_be_set_by_the_endpoint(
    tmp_path: Path,
) -> None:
    text = "credentials:\n  erp: {type: bearer, token: {env: T}}\n" + ROUTES.replace(
        "credential: erp", "credential: erp\n      headers: {authorization: x}"
    )

    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))

    assert caught.value.key == "routes[0].endpoint.headers.authorization"
    assert "set by credential 'erp'" in caught.value.reason


@pytest.mark.parametrize(
    ("environ", "key", "reason"),
    [
        ({"WH": "whsec_c2VjcmV0"}, "credentials.erp.token",
         "environment variable T is not set"),
        ({"T": "line\r\nX-Injected: 1", "WH": "whsec_c2VjcmV0"},
         "credentials.erp.token", "a header field cannot carry"),
        ({"T": "v", "WH": "whsec_not base64"}, "credentials.signing.secret",
         "not base64"),
    ],
)
def test_secrets_that_cannot_be_used_stop_the_start(
    tmp_path: Path, environ: dict[str, str], key: str, reason: str
) -> None:
    path = write(tmp_path, ALL_SCHEMES)
    settings = load_settings(path)

    with pytest.raises(ConfigError) as caught:
        open_credentials(settings.credentials, file=str(path), environ=environ)

    assert (caught.value.key, caught.value.file) == (key, str(path))
    assert reason in caught.value.reason
    assert "X-Injected" not in str(caught.value)


def test_an_unreadable_secret_file_names_the_key(tmp_path: Path) -> None:
    text = f"""
credentials:
  erp: {{type: bearer, token: {{file: {tmp_path / 'missing'}}}}}
{ROUTES}"""
    path = write(tmp_path, text)
    settings = load_settings(path)

    with pytest.raises(ConfigError) as caught:
        open_credentials(settings.credentials, file=str(path))

    assert caught.value.key == "credentials.erp.token"
    assert "cannot be read: No such file or directory" in caught.value.reason


def test_the_readme_overview_loads_and_opens(tmp_path: Path) -> None:
    path = example("overview", tmp_path)
    settings = load_settings(path)

    opened = open_credentials(
        settings.credentials, file=str(path), environ={"ERP_TOKEN": "t"}
    )

    assert isinstance(opened["erp"], BearerToken)
    assert settings.routes[0].endpoint.credential == "erp"
