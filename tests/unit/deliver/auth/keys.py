"""Private keys for unit tests, generated once per test run."""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from omniout.deliver.auth import Secret

__all__ = ["ec_key", "pem", "rsa_key"]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@functools.cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def ec_key(curve: str = "secp256r1") -> ec.EllipticCurvePrivateKey:
    curves = {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}
    return ec.generate_private_key(curves[curve])


def pem(
    key: PrivateKey,
    password: str | None = None,
    form: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
) -> Secret:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    data = key.private_bytes(serialization.Encoding.PEM, form, encryption)
    return Secret(data.decode("ascii"))
