"""A token endpoint that grants tokens for signed JWT assertions (RFC 7523).

It checks each assertion as a strict authorization server would: the
signature against the client's public key (verified here with the
``cryptography`` package alone, not with the library that signs), ``iss``,
``sub``, ``aud``, an ``exp`` a little in the future, and a ``jti`` it has
not seen before. ``grant`` says which request it expects: the JWT bearer
grant (section 2.1) or client credentials with a client assertion
(section 2.2). The resource under ``/api/`` and the tokens it issues are
those of :class:`~tests.integration.token_server.TokenServer`.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.integration.token_server import Fetch, TokenServer

__all__ = [
    "AssertionServer",
    "Grant",
    "PrivateKey",
    "PublicKey",
    "Seen",
    "ec_key",
    "pem",
    "rsa_key",
]

Grant = Literal["jwt_bearer", "private_key_jwt"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

# Written out here rather than imported, so a typo in the client shows.
_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MAX_LIFETIME = 300
_SKEW = 5


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: PrivateKey, password: str | None = None) -> str:
    """The key as PKCS #8 PEM, encrypted when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return data.decode("ascii")


@dataclass(frozen=True, slots=True)
class Seen:
    """An assertion the server accepted, decoded."""

    header: dict[str, Any]
    claims: dict[str, Any]


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AssertionServer(TokenServer):
    """``async with AssertionServer(public_key, ...) as server``.

    ``audience`` is the ``aud`` it wants; ``None`` means its token URL.
    ``accepted`` holds the assertions it granted tokens for, ``refusals``
    why it refused the others.
    """

    def __init__(
        self,
        public_key: PublicKey,
        *,
        grant: Grant,
        client_id: str,
        subject: str,
        audience: str | None,
        token_path: str,
        expires_in: int,
    ) -> None:
        super().__init__(client_id, "", expires_in)
        self.public_key = public_key
        self.grant = grant
        self.subject = subject
        self.audience = audience
        self.token_path = token_path
        self.accepted: list[Seen] = []
        self.refusals: list[str] = []
        self._jtis: set[str] = set()

    @property
    def token_url(self) -> str:
        return self.url + self.token_path

    @property
    def jtis(self) -> list[str]:
        return [seen.claims["jti"] for seen in self.accepted]

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.fetches.append(Fetch(self.grant, form))
        try:
            seen = self._verify(self._assertion(request, form))
        except _Refused as refused:
            self.refusals.append(refused.reason)
            code = "invalid_grant" if self.grant == "jwt_bearer" else "invalid_client"
            # Error bodies that echo the request exist; the client must
            # never repeat them.
            detail = f"{refused.reason}: {form}"
            body = {"error": code, "error_description": detail}
            return web.json_response(body, status=400)
        self.accepted.append(seen)
        return self.issue()

    def _assertion(self, request: web.Request, form: dict[str, str]) -> str:
        if "client_secret" in form or "Authorization" in request.headers:
            raise _Refused("a secret was sent")
        if self.grant == "jwt_bearer":
            if form.get("grant_type") != _GRANT:
                raise _Refused("wrong grant_type")
            return form.get("assertion", "")
        if form.get("grant_type") != "client_credentials":
            raise _Refused("wrong grant_type")
        if form.get("client_assertion_type") != _CLIENT_ASSERTION:
            raise _Refused("wrong client_assertion_type")
        if form.get("client_id") != self.client_id:
            raise _Refused("wrong client_id")
        return form.get("client_assertion", "")

    def _verify(self, assertion: str) -> Seen:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise _Refused("not a compact JWS")
        header = json.loads(_unbase64(parts[0]))
        self._check_signature(header.get("alg"), parts)
        claims = json.loads(_unbase64(parts[1]))
        self._check_claims(claims)
        self._jtis.add(claims["jti"])
        return Seen(header, claims)

    def _check_signature(self, alg: object, parts: list[str]) -> None:
        signed = f"{parts[0]}.{parts[1]}".encode("ascii")
        signature = _unbase64(parts[2])
        key = self.public_key
        try:
            if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
                # JWS carries r and s as two 32-byte numbers (RFC 7518 3.4).
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                der = encode_dss_signature(r, s)
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            else:
                raise _Refused(f"unexpected alg {alg!r}")
        except InvalidSignature:
            raise _Refused("signature does not verify") from None

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        expected = {
            "iss": self.client_id,
            "sub": self.subject,
            "aud": self.audience or self.token_url,
        }
        for name, value in expected.items():
            if claims.get(name) != value:
                raise _Refused(f"wrong {name}")
        exp, iat, jti = claims.get("exp"), claims.get("iat"), claims.get("jti")
        if not isinstance(exp, int) or not now < exp <= now + _MAX_LIFETIME:
            raise _Refused("exp is not in the next five minutes")
        if not isinstance(iat, int) or iat > now + _SKEW:
            raise _Refused("iat is in the future")
        if not isinstance(jti, str) or not jti or jti in self._jtis:
            raise _Refused("jti missing or seen before")


def _unbase64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
