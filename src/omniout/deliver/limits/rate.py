"""A rate limit as a schedule: when may the next request to an endpoint go.

The algorithm is the generic cell rate algorithm (GCRA, ITU-T I.371), the
"virtual scheduling" form of a token bucket. Its whole state is one number,
the theoretical arrival time (TAT) of the next request. A caller reserves a
slot and is told at once how long to wait for it; it then sleeps exactly
that long. This was chosen over a token bucket that counts tokens because
waiting callers need neither a queue nor a wake-up loop: each computes its
own turn in O(1) without allocating, and no two are woken to race for the
same token. The behaviour is that of a token bucket holding ``burst``
tokens, refilled with ``requests`` tokens every ``per`` seconds.

The clock is passed in on every call, so the schedule is tested without
time passing.
"""

from __future__ import annotations

__all__ = ["RateSchedule"]


class RateSchedule:
    """At most ``requests`` per ``per`` seconds, with bursts of ``burst``.

    With ``burst`` 1 (the default) requests are spaced evenly, one every
    ``per / requests`` seconds, so no window of ``per`` seconds holds more
    than ``requests`` of them. A larger ``burst`` lets that many go at once
    after a quiet spell; a window of ``per`` seconds then holds at most
    ``requests + burst - 1``.

    Not thread-safe; one event loop uses it, and no ``await`` separates a
    reservation from its bookkeeping.
    """

    __slots__ = ("_tat", "interval", "tolerance")

    def __init__(self, requests: int, per: float, burst: int = 1) -> None:
        if requests < 1 or per <= 0 or burst < 1:
            raise ValueError("requests and burst must be >= 1, per > 0")
        self.interval = per / requests
        # How far ahead of its theoretical time a request may go.
        self.tolerance = (burst - 1) * self.interval
        self._tat = float("-inf")

    @property
    def tat(self) -> float:
        """The theoretical arrival time after the latest reservation."""
        return self._tat

    def reserve(self, now: float) -> float:
        """Take the next slot; return the seconds to wait for it (>= 0).

        The slot is the caller's from now on: a caller that will not use it
        (cancelled while waiting) gives it back with :meth:`refund`.
        """
        start = self._tat if self._tat > now else now
        self._tat = start + self.interval
        delay = start - self.tolerance - now
        return delay if delay > 0.0 else 0.0

    def refund(self, tat: float) -> None:
        """Undo the reservation that left :attr:`tat` at ``tat``.

        Only the latest reservation can be undone: a slot before others
        cannot be handed back without moving theirs, so it stays spent and
        the schedule is the stricter for it, never the looser.
        """
        if self._tat == tat:
            self._tat = tat - self.interval
