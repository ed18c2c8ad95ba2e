"""The ``schema_registry:`` settings: their checks, the shorthand, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from omniout.config import load_settings
from omniout.decode.settings import RegistrySettings, open_registry, registry_password
from omniout.errors import ConfigError

ROUTES = """
routes:
  - name: orders
    topic: Order_Completed__e
    endpoint:
      url: http://127.0.0.1:9000/orders
"""
REGISTRY = "http://127.0.0.1:8081/apis/ccompat/v7"


def load(tmp_path: Path, text: str) -> RegistrySettings | None:
    path = tmp_path / "config.yaml"
    path.write_text(text + ROUTES)
    return load_settings(path).schema_registry


def test_no_registry_key_means_no_registry(tmp_path: Path) -> None:
    assert load(tmp_path, "") is None


def test_the_section_takes_credentials_and_a_timeout(tmp_path: Path) -> None:
    registry = load(
        tmp_path,
        f"schema_registry:\n  url: {REGISTRY}\n  username: omniout\n"
        "  password: {env: REGISTRY_PASSWORD}\n  timeout: 2.5\n",
    )

    assert registry is not None
    assert registry.url == REGISTRY
    assert registry.username == "omniout"
    assert registry.password is not None
    assert registry.password.env == "REGISTRY_PASSWORD"
    assert registry.timeout == 2.5


def test_the_url_alone_keeps_the_ten_second_timeout(tmp_path: Path) -> None:
    registry = load(tmp_path, f"schema_registry: {{url: {REGISTRY}}}\n")

    assert registry == RegistrySettings(url=REGISTRY, timeout=10.0)


def test_schema_registry_url_is_short_for_the_section(tmp_path: Path) -> None:
    registry = load(tmp_path, f"schema_registry_url: {REGISTRY}\n")

    assert registry == RegistrySettings(url=REGISTRY)


def test_schema_registry_url_from_the_environment_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIOUT_SCHEMA_REGISTRY_URL", REGISTRY)

    assert load(tmp_path, "") == RegistrySettings(url=REGISTRY)


def test_the_environment_sets_the_section_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIOUT_SCHEMA_REGISTRY__TIMEOUT", "3")

    registry = load(tmp_path, f"schema_registry: {{url: {REGISTRY}}}\n")

    assert registry == RegistrySettings(url=REGISTRY, timeout=3.0)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (
            f"schema_registry_url: {REGISTRY}\nschema_registry: {{url: {REGISTRY}}}\n",
            "",
            "give schema_registry or schema_registry_url, not both",
        ),
        ("schema_registry: {}\n", "schema_registry.url", "Field required"),
        (
            "schema_registry: {url: ftp://registry}\n",
            "schema_registry.url",
            "must start with http:// or https://",
        ),
        (
            "schema_registry_url: registry:8081\n",
            "schema_registry.url",
            "must start with http:// or https://",
        ),
        (
            "schema_registry: {url: 'https://omniout:hunter2@registry'}\n",
            "schema_registry.url",
            "must not carry credentials; use username and password",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, username: omniout, "
            "password: hunter2}\n",
            "schema_registry.password",
            "a secret is referenced as {env: VARIABLE} or {file: PATH}",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, username: omniout}}\n",
            "schema_registry",
            "username and password go together",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, password: {{env: P}}}}\n",
            "schema_registry",
            "username and password go together",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, username: 'a:b', "
            "password: {env: P}}\n",
            "schema_registry.username",
            "cannot contain ':'",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, timeout: 0}}\n",
            "schema_registry.timeout",
            "greater than 0",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, timeout: 121}}\n",
            "schema_registry.timeout",
            "less than or equal to 120",
        ),
        (
            f"schema_registry: {{url: {REGISTRY}, retries: 3}}\n",
            "schema_registry.retries",
            "Extra inputs",
        ),
    ],
)
def test_a_bad_registry_setting_names_its_key(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)

    assert caught.value.key == key
    assert reason in caught.value.reason
    assert "hunter2" not in str(caught.value)


def with_password(**reference: str | Path) -> RegistrySettings:
    return RegistrySettings.model_validate(
        {"url": REGISTRY, "username": "omniout", "password": reference}
    )


def test_the_password_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGISTRY_PASSWORD", "s3cret")

    secret = registry_password(with_password(env="REGISTRY_PASSWORD"), config_file="c")

    assert secret is not None
    assert secret.reveal() == "s3cret"
    assert "s3cret" not in repr(secret)


def test_the_password_is_read_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "registry-password"
    file.write_text("from-file\n")

    secret = registry_password(with_password(file=file), config_file="c")

    assert secret is not None
    assert secret.reveal() == "from-file"


def test_no_password_is_none() -> None:
    assert registry_password(RegistrySettings(url=REGISTRY), config_file="c") is None


def test_a_missing_password_variable_names_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REGISTRY_PASSWORD", raising=False)

    with pytest.raises(ConfigError) as caught:
        open_registry(with_password(env="REGISTRY_PASSWORD"), config_file="c.yaml")

    assert str(caught.value) == (
        "c.yaml: schema_registry.password: "
        "environment variable REGISTRY_PASSWORD is not set"
    )
