from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import PrivateFormat

from omniout.deliver.auth import Secret, load_signing_key
from omniout.deliver.auth.signing_key import Algorithm
from omniout.errors import ConfigError
from tests.unit.deliver.auth.keys import ec_key, pem, rsa_key

KEY = "credentials.crm.private_key"
PASSWORD_KEY = "credentials.crm.key_password"
PASSWORD = "pw-1a2b3c-never-shown"


def load(
    text: Secret, password: str | None = None, algorithm: Algorithm = "RS256"
) -> object:
    return load_signing_key(
        text,
        Secret(password) if password is not None else None,
        algorithm,
        None,
        file="config.yaml",
        key=KEY,
        password_key=PASSWORD_KEY,
    )


@pytest.mark.parametrize(
    "form", [PrivateFormat.PKCS8, PrivateFormat.TraditionalOpenSSL]
)
def test_pkcs8_and_traditional_keys_load(form: PrivateFormat) -> None:
    key = load(pem(rsa_key(), PASSWORD, form), PASSWORD)

    assert repr(key) == "SigningKey(RS256, kid=None)"


def test_a_pem_written_on_one_line_loads() -> None:
    one_line = pem(ec_key()).reveal().strip().replace("\n", "\\n")

    key = load_signing_key(
        Secret(one_line),
        None,
        "ES256",
        "k1",
        file="config.yaml",
        key=KEY,
        password_key=PASSWORD_KEY,
    )

    token = key.sign({"sub": "s"}).reveal()
    claims = jwt.decode(token, ec_key().public_key(), algorithms=["ES256"])
    assert claims == {"sub": "s"}


CERTIFICATE = Secret(
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"
)


@pytest.mark.parametrize(
    ("text", "password", "algorithm", "key", "reason"),
    [
        (Secret("not a key at all"), None, "RS256", KEY, "is not a PEM private key"),
        (CERTIFICATE, None, "RS256", KEY, "is not a PEM private key"),
        (pem(rsa_key(), PASSWORD), None, "RS256", KEY,
         "the key is encrypted; give key_password"),
        (pem(rsa_key(), PASSWORD), PASSWORD + "-wrong", "RS256", PASSWORD_KEY,
         "does not unlock the private key"),
        (pem(rsa_key()), PASSWORD, "RS256", PASSWORD_KEY,
         "is given, but the private key is not encrypted"),
        (pem(ec_key()), None, "RS256", KEY, "is an EC key; RS256 needs an RSA key"),
        (pem(rsa_key()), None, "ES256", KEY,
         "is an RSA key; ES256 needs an EC secp256r1 key"),
        (pem(ec_key("secp384r1")), None, "ES256", KEY,
         "is an EC secp384r1 key; ES256 needs secp256r1"),
        (pem(rsa_key(1024)), None, "PS256", KEY,
         "the RSA key has 1024 bits; PS256 needs at least 2048"),
    ],
)
def test_a_key_that_cannot_sign_is_a_config_error_that_never_quotes_it(
    text: Secret, password: str | None, algorithm: Algorithm, key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(text, password, algorithm)
    error = caught.value

    assert (error.file, error.key) == ("config.yaml", key)
    assert reason in error.reason
    body = [line for line in text.reveal().splitlines() if "-----" not in line]
    shown = str(error) + repr(error)
    assert all(line not in shown for line in body)
    assert PASSWORD not in shown
    # The library's own exception is not chained into the traceback.
    assert error.__suppress_context__
