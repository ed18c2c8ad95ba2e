"""Helper functions that mappings may call, beside JSONata's own library.

They are registered on every compiled expression once, when the config
loads, never per event. JSONata's ``$now()`` and ``$millis()`` are not
used for the time of delivery: the pipeline binds ``$nowMillis`` (epoch
milliseconds) per event, so that every row of one event sees the same
instant and tests can fix it.

Every helper returns ``None`` (JSONata's "no value") when its main argument
is missing, so a row over an absent field is left out as usual, and raises
``ValueError`` for an argument it cannot use; the engine reports that as a
mapping error, which dead-letters the event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["HELPERS", "from_iso", "pick", "to_date", "to_iso"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def to_iso(millis: Any, zone: Any = None) -> str | None:
    """Epoch milliseconds as ISO-8601 with milliseconds and an offset.

    ``zone`` is an IANA name ("Europe/Berlin"); without one the time is in
    UTC and ends in ``Z``. Salesforce DateTime fields arrive as such longs.
    """
    if millis is None:
        return None
    moment = _moment(millis).astimezone(_zone(zone))
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if zone is None else text


def to_date(millis: Any, zone: Any = None) -> str | None:
    """The calendar day (``YYYY-MM-DD``) of epoch milliseconds in ``zone``.

    Salesforce Date fields arrive as milliseconds at 00:00 UTC, so without a
    zone the day is the one the field holds.
    """
    if millis is None:
        return None
    return _moment(millis).astimezone(_zone(zone)).date().isoformat()


def from_iso(text: Any) -> int | None:
    """An ISO-8601 date or date-time as epoch milliseconds.

    A date-time without an offset, and a plain date, are taken as UTC.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"$fromIso expects a string, got {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"$fromIso: {text!r} is not an ISO-8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def pick(record: Any, names: Any) -> dict[str, Any] | None:
    """The fields of ``record`` named in ``names``, nulls included.

    A name may be dotted (``BillingAddress.City``, as the CDC bitmaps of
    compound fields expand); the result nests the same way. This is how a
    mapping sends only what changed: ``$pick($, $changed)``.
    """
    if not isinstance(record, dict):
        return None
    wanted = [names] if isinstance(names, str) else names
    if not isinstance(wanted, Sequence):
        raise ValueError("$pick expects a list of field names")
    out: dict[str, Any] = {}
    for name in wanted:
        _copy(record, out, str(name).split("."))
    return out


def _copy(source: dict[str, Any], target: dict[str, Any], path: list[str]) -> None:
    head, rest = path[0], path[1:]
    value = source.get(head)
    if not rest:
        target[head] = value
        return
    if isinstance(value, dict):
        branch = target.setdefault(head, {})
        if isinstance(branch, dict):
            _copy(value, branch, rest)


def _moment(millis: Any) -> datetime:
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        raise ValueError(f"expected epoch milliseconds, got {millis!r}")
    return _EPOCH + timedelta(milliseconds=millis)


def _zone(name: Any) -> tzinfo:
    if name is None:
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


HELPERS: dict[str, Callable[..., Any]] = {
    "toIso": to_iso,
    "toDate": to_date,
    "fromIso": from_iso,
    "pick": pick,
}
