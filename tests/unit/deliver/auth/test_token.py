from __future__ import annotations

import asyncio
import logging

import pytest

from omniout.deliver.auth import ExpiryPolicy, Secret, Token, TokenCache
from omniout.errors import DeliveryError


def token(obtained_at: float, lifetime: float, name: str = "t") -> Token:
    return Token(Secret(f"Bearer {name}"), obtained_at, obtained_at + lifetime)


@pytest.mark.parametrize(
    ("lifetime", "now", "state"),
    [
        # One hour: renew in the last 5 minutes, stop in the last 30 s.
        (3600, 0, "fresh"),
        (3600, 3299, "fresh"),
        (3600, 3300, "renew"),
        (3600, 3569, "renew"),
        (3600, 3570, "expired"),
        (3600, 7200, "expired"),
        # Two seconds: renew from half-time, stop at the last tenth.
        (2, 0.99, "fresh"),
        (2, 1.0, "renew"),
        (2, 1.79, "renew"),
        (2, 1.8, "expired"),
    ],
)
def test_expiry_policy_renews_early_and_stops_before_expiry(
    lifetime: float, now: float, state: str
) -> None:
    assert ExpiryPolicy().state(token(0, lifetime), now) == state


class Issuer:
    """Hands out tokens in order, on the test's clock; can be made to fail."""

    def __init__(self, clock: list[float], lifetime: float = 100.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.failing = False
        self.release = asyncio.Event()
        self.release.set()

    async def fetch(self) -> Token:
        self.calls += 1
        await self.release.wait()
        if self.failing:
            raise DeliveryError("token endpoint answered HTTP 503", retriable=True)
        return token(self.clock[0], self.lifetime, f"t{self.calls}")


def cache_for(issuer: Issuer) -> TokenCache:
    return TokenCache("erp", issuer.fetch, clock=lambda: issuer.clock[0])


async def test_a_fresh_token_is_reused_without_fetching() -> None:
    issuer = Issuer([0.0])
    cache = cache_for(issuer)

    tokens = [await cache.get() for _ in range(20)]

    assert issuer.calls == 1
    assert len({id(t) for t in tokens}) == 1


async def test_a_token_due_for_renewal_is_still_used_while_renewed() -> None:
    clock = [0.0]
    issuer = Issuer(clock)
    cache = cache_for(issuer)
    first = await cache.get()
    issuer.release.clear()

    clock[0] = 60.0  # 40 s of 100 left: time to renew, still good to send
    during = await cache.get()
    await asyncio.sleep(0)  # let the renewal start
    assert during is first
    assert issuer.calls == 2
    issuer.release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert (await cache.get()).authorization.reveal() == "Bearer t2"
    assert issuer.calls == 2


async def test_an_expired_token_waits_for_its_replacement() -> None:
    clock = [0.0]
    issuer = Issuer(clock)
    cache = cache_for(issuer)
    await cache.get()

    clock[0] = 95.0
    renewed = await cache.get()

    assert renewed.authorization.reveal() == "Bearer t2"


async def test_concurrent_callers_share_one_fetch() -> None:
    issuer = Issuer([0.0])
    issuer.release.clear()
    cache = cache_for(issuer)

    waiting = [asyncio.ensure_future(cache.get()) for _ in range(10)]
    await asyncio.sleep(0)
    issuer.release.set()
    tokens = await asyncio.gather(*waiting)

    assert issuer.calls == 1
    assert {t.authorization.reveal() for t in tokens} == {"Bearer t1"}


async def test_a_rejected_token_is_replaced_once_for_all_who_saw_it() -> None:
    issuer = Issuer([0.0])
    cache = cache_for(issuer)
    rejected = await cache.get()

    replacements = await asyncio.gather(*(cache.replace(rejected) for _ in range(5)))
    later = await cache.replace(rejected)

    assert issuer.calls == 2
    assert {t.authorization.reveal() for t in [*replacements, later]} == {"Bearer t2"}


async def test_a_failed_fetch_raises_to_every_waiter() -> None:
    issuer = Issuer([0.0])
    issuer.failing = True
    cache = cache_for(issuer)

    results = await asyncio.gather(
        cache.get(), cache.get(), return_exceptions=True
    )

    assert issuer.calls == 1
    assert all(isinstance(r, DeliveryError) for r in results)


async def test_a_failed_background_renewal_keeps_the_current_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    issuer = Issuer(clock)
    cache = cache_for(issuer)
    first = await cache.get()
    issuer.failing = True

    clock[0] = 60.0
    assert await cache.get() is first
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert await cache.get() is first
    assert "Token renewal for credential 'erp' failed" in caplog.text
    assert caplog.records[0].levelno == logging.WARNING


async def test_closing_stops_a_renewal_in_progress() -> None:
    issuer = Issuer([0.0])
    issuer.release.clear()
    cache = cache_for(issuer)
    waiter = asyncio.ensure_future(cache.get())
    await asyncio.sleep(0)

    await cache.aclose()

    with pytest.raises(asyncio.CancelledError):
        await waiter
