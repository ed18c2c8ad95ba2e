"""Private keys that sign JWT assertions: loaded once, checked, never shown.

:func:`load_signing_key` turns the PEM text of a secret reference into a
:class:`SigningKey` when the service starts. Everything that can be wrong
with a key is found there and raised as ``ConfigError`` naming the config
key: text that is not a PEM private key, a password that is missing, wrong
or not needed, and a key that does not fit the algorithm. The messages are
written here and never repeat the key, its password or the library's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NoReturn, get_args

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from omniout.deliver.auth.secret import Secret
from omniout.errors import ConfigError

__all__ = ["ALGORITHMS", "Algorithm", "SigningKey", "load_signing_key"]

Algorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"
]
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# RFC 7518 section 3.3: RSA keys for RS* and PS* are 2048 bits or more.
_MIN_RSA_BITS = 2048
# RFC 7518 section 3.4: each ES* algorithm names its curve.
_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


class SigningKey:
    """A private key and the JWS algorithm it signs with.

    :meth:`sign` is called once per token request, never per event. The
    object's ``repr`` names the algorithm and key id only, and it cannot be
    pickled, so the key never leaves the process by accident.
    """

    __slots__ = ("_algorithm", "_key", "_key_id")

    def __init__(
        self, key: PrivateKey, algorithm: Algorithm, key_id: str | None = None
    ) -> None:
        self._key = key
        self._algorithm = algorithm
        self._key_id = key_id

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    def sign(self, claims: Mapping[str, object]) -> Secret:
        """The compact JWS of ``claims``, with ``kid`` in its header if set."""
        headers = {"kid": self._key_id} if self._key_id else None
        token = jwt.encode(
            dict(claims), self._key, algorithm=self._algorithm, headers=headers
        )
        return Secret(token)

    def __repr__(self) -> str:
        return f"SigningKey({self._algorithm}, kid={self._key_id!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SigningKey cannot be pickled")


def load_signing_key(
    pem: Secret,
    password: Secret | None,
    algorithm: Algorithm,
    key_id: str | None,
    *,
    file: str,
    key: str,
    password_key: str,
) -> SigningKey:
    """The key in ``pem``, unlocked with ``password``, checked for ``algorithm``.

    ``key`` and ``password_key`` are the config keys of the PEM and of its
    password, which the ``ConfigError`` names.
    """
    text = pem.reveal()
    # A PEM put into an environment variable is often written on one line,
    # its line breaks as the two characters \n; a PEM has no backslashes.
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\n", "\n")
    data = text.encode("utf-8")
    secret = password.reveal().encode("utf-8") if password is not None else None
    encrypted = b"ENCRYPTED" in data
    try:
        loaded = load_pem_private_key(data, password=secret)
    except TypeError:
        if encrypted:
            _fail(file, key, "the key is encrypted; give key_password")
        _fail(file, password_key, "is given, but the private key is not encrypted")
    except (ValueError, UnsupportedAlgorithm):
        if encrypted and secret is not None:
            _fail(file, password_key, "does not unlock the private key")
        _fail(file, key, "is not a PEM private key (PKCS #8 or PKCS #1/SEC 1)")
    if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        kind = type(loaded).__name__.removeprefix("_")
        _fail(file, key, f"is a {kind}; {algorithm} needs an RSA or EC key")
    _check_fits(loaded, algorithm, file, key)
    return SigningKey(loaded, algorithm, key_id)


def _check_fits(loaded: PrivateKey, algorithm: Algorithm, file: str, key: str) -> None:
    if algorithm.startswith(("RS", "PS")):
        if not isinstance(loaded, rsa.RSAPrivateKey):
            _fail(file, key, f"is an EC key; {algorithm} needs an RSA key")
        if loaded.key_size < _MIN_RSA_BITS:
            reason = (
                f"the RSA key has {loaded.key_size} bits; {algorithm} needs "
                f"at least {_MIN_RSA_BITS} (RFC 7518 section 3.3)"
            )
            _fail(file, key, reason)
        return
    curve = _CURVES[algorithm]
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        _fail(file, key, f"is an RSA key; {algorithm} needs an EC {curve} key")
    if loaded.curve.name != curve:
        reason = f"is an EC {loaded.curve.name} key; {algorithm} needs {curve}"
        _fail(file, key, reason)


def _fail(file: str, key: str, reason: str) -> NoReturn:
    # Raised while a library exception is handled: that one stays out.
    raise ConfigError(file, key, reason) from None
