"""JWT assertions for the token endpoint (RFC 7523).

An assertion is a short-lived JWT signed with the client's private key. The
JWT bearer grant (section 2.1) sends one as the grant itself, naming the
user in ``sub``; ``private_key_jwt`` client authentication (section 2.2,
OpenID Connect Core section 9) sends one in place of a client secret, with
the client id in both ``iss`` and ``sub``.

:class:`AssertionClaims` is pure: the claims for a given time and id.
:class:`AssertionSigner` adds a wall clock and a source of ids, and signs a
new assertion for every token request, so each has its own ``jti`` and a
fresh ``exp`` (servers refuse a ``jti`` they have seen, section 3).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from omniout.deliver.auth.secret import Secret
from omniout.deliver.auth.signing_key import SigningKey

__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "JWT_BEARER_GRANT",
    "AssertionClaims",
    "AssertionSigner",
    "new_jwt_id",
]

# RFC 7523 section 2.1 (the grant) and 2.2 (client authentication).
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def new_jwt_id() -> str:
    """A random ``jti``: 128 bits, so two assertions never share one."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class AssertionClaims:
    """What an assertion says, apart from when it was made and its id.

    ``lifetime`` is whole seconds from issue to ``exp``; servers accept only
    short ones (the CRM platform at most three minutes).
    """

    issuer: str
    subject: str
    audience: str
    lifetime: int

    def at(self, now: float, jwt_id: str) -> dict[str, object]:
        """The claims of an assertion issued at ``now`` (epoch seconds).

        Times are whole seconds (NumericDate, RFC 7519 section 2), since
        some servers refuse fractions.
        """
        issued = int(now)
        return {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": jwt_id,
        }


class AssertionSigner:
    """Signs a new assertion each time a token is requested.

    ``wall_clock`` is epoch seconds (``exp`` is compared with the server's
    clock, so a monotonic clock will not do); ``new_id`` makes each ``jti``.
    Signing takes about half a millisecond with an RSA 2048 key, much less
    with EC P-256, and happens only when a token is fetched.
    """

    __slots__ = ("_claims", "_key", "_new_id", "_wall_clock")

    def __init__(
        self,
        claims: AssertionClaims,
        key: SigningKey,
        *,
        wall_clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_jwt_id,
    ) -> None:
        self._claims = claims
        self._key = key
        self._wall_clock = wall_clock
        self._new_id = new_id

    @property
    def claims(self) -> AssertionClaims:
        return self._claims

    def sign(self) -> Secret:
        """A new signed assertion; a secret until it expires."""
        return self._key.sign(self._claims.at(self._wall_clock(), self._new_id()))

    def __repr__(self) -> str:
        claims = self._claims
        return (
            f"AssertionSigner(iss={claims.issuer!r}, sub={claims.subject!r}, "
            f"aud={claims.audience!r}, {self._key!r})"
        )
