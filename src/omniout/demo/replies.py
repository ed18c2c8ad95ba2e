"""Print the records of a config's reply topics, one readable line each.

    python -m omniout.demo.replies -c deploy/demo/config.yaml [--since-ms MS]
        [--idle SECONDS | --follow]

Reads every ``reply_topic`` of the config's routes from the beginning,
outside any consumer group (it commits nothing), and prints the replies
written at or after ``--since-ms`` (epoch milliseconds, the record's
timestamp). It stops after ``--idle`` seconds without a new reply, or, with
``--follow``, when it gets SIGINT or SIGTERM. A reply topic that does not
exist yet is created by the broker's auto-create, as the first reply would
create it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from omniout.config import KafkaSettings, load_settings
from omniout.consume.client import client_options
from omniout.errors import ConfigError

__all__ = ["describe", "print_replies"]

# How long one fetch waits, so that a stop request is noticed soon.
_POLL_MS = 500


def describe(value: bytes | None) -> str:
    """One line for one reply record's value (see :mod:`omniout.replies`)."""
    try:
        reply = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        reply = None
    if not isinstance(reply, dict):
        text = (value or b"").decode(errors="replace")[:80]
        return f"a record that is not a reply: {text!r}"
    facts = []
    if reply.get("http_status") is not None:
        facts.append(f"HTTP {reply['http_status']}")
    if reply.get("attempts"):
        facts.append(f"{reply['attempts']} attempt(s)")
    if reply.get("latency_ms") is not None:
        facts.append(f"{reply['latency_ms']:.1f} ms")
    if reply.get("reason"):
        facts.append(str(reply["reason"]))
    elif reply.get("response") is not None:
        cut = " (cut short)" if reply.get("response_truncated") else ""
        facts.append(f"answer {_compact(reply['response'])}{cut}")
    head = f"{reply.get('route')} {reply.get('request_id')} {reply.get('outcome')}"
    return f"{head}: {', '.join(facts)}" if facts else head


def _compact(response: Any) -> str:
    if isinstance(response, str):
        return repr(response)
    return orjson.dumps(response).decode()


async def print_replies(
    kafka: KafkaSettings,
    topics: Iterable[str],
    *,
    since_ms: int,
    idle: float | None,
    stop: asyncio.Event,
    say: Callable[[str], None],
) -> int:
    """Print the replies in ``topics`` until idle or stopped; return the count.

    ``idle`` None follows the topics until ``stop`` is set.
    """
    consumer = AIOKafkaConsumer(
        **client_options(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # A reply topic that is not there yet is looked for again every
        # second (the default is every five minutes).
        metadata_max_age_ms=1000,
    )
    await consumer.start()
    count = 0
    try:
        # Without a group every partition is assigned, new ones included.
        consumer.subscribe(list(topics))
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=_POLL_MS)
            records = [r for batch in batches.values() for r in batch]
            for record in records:
                if record.timestamp >= since_ms:
                    say(describe(record.value))
                    count += 1
                    quiet_since = loop.time()
            if idle is not None and loop.time() - quiet_since >= idle:
                break
    finally:
        await consumer.stop()
    return count


def _say(text: str) -> None:
    print(text, flush=True)


async def _main(
    args: argparse.Namespace, topics: list[str], kafka: KafkaSettings
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    idle = None if args.follow else args.idle
    _say(f"Reading replies from {', '.join(topics)}")
    await print_replies(
        kafka, topics, since_ms=args.since_ms, idle=idle, stop=stop, say=_say
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m omniout.demo.replies", description=__doc__.splitlines()[0]
    )
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("--since-ms", type=int, default=0, metavar="MILLIS")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--idle", type=float, default=5.0, metavar="SECONDS")
    when.add_argument("--follow", action="store_true")
    args = parser.parse_args()
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    topics = sorted({r.reply_topic for r in settings.routes if r.reply_topic})
    if not topics:
        parser.error(f"no route of {args.config} has a reply_topic")
    logging.basicConfig(level=logging.ERROR)
    # Until the first reply creates it, the client reports the reply topic
    # missing at every look; that is expected here, not an error.
    logging.getLogger("aiokafka.cluster").setLevel(logging.CRITICAL)
    asyncio.run(_main(args, topics, settings.kafka))


if __name__ == "__main__":
    main()
