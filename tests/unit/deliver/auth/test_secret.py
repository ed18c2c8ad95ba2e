from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from omniout.deliver.auth import Secret
from omniout.deliver.auth.secret import read_secret
from omniout.errors import ConfigError


def test_a_secret_shows_only_a_mask() -> None:
    secret = Secret("hunter2")

    shown = [repr(secret), str(secret), f"{secret}", f"{secret:>20}", f"{secret!s}"]

    assert all("hunter2" not in text for text in shown)
    assert secret.reveal() == "hunter2"


def test_a_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("hunter2"))


def test_an_environment_secret_is_read() -> None:
    secret = read_secret(
        env="TOKEN", file=None, config_file="c.yaml", key="k", environ={"TOKEN": "t"}
    )

    assert secret.reveal() == "t"


def test_a_file_secret_loses_its_trailing_line_break(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("  t o k  \r\n")

    secret = read_secret(env=None, file=path, config_file="c.yaml", key="k")

    assert secret.reveal() == "  t o k  "


@pytest.mark.parametrize(
    ("env", "content", "reason"),
    [
        ("MISSING", None, "environment variable MISSING is not set"),
        ("EMPTY", None, "environment variable EMPTY is empty"),
        (None, None, "cannot be read: No such file or directory"),
        (None, "\n", "is empty"),
        (None, b"\xff\xfe", "is not UTF-8"),
    ],
)
def test_unusable_secrets_are_config_errors_naming_the_key(
    tmp_path: Path, env: str | None, content: str | bytes | None, reason: str
) -> None:
    path = tmp_path / "secret"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)

    with pytest.raises(ConfigError) as caught:
        read_secret(
            env=env,
            file=None if env else path,
            config_file="c.yaml",
            key="credentials.erp.token",
            environ={"EMPTY": ""},
        )

    assert (caught.value.file, caught.value.key) == ("c.yaml", "credentials.erp.token")
    assert reason in caught.value.reason
