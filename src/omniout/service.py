"""The running service: every part built from the settings, then the loop.

:func:`serve` owns the lifetimes: it opens the ledger, the producer for dead
letters and the HTTP client before joining the group, and closes them in the
reverse order after the consumer has drained and committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from omniout.config import Settings
from omniout.consume.client import client_options
from omniout.consume.consumer import Consumer
from omniout.deadletter import DeadLetterWriter
from omniout.decode import Decoder, KnownSchema, RegistryClient, SchemaStore
from omniout.deliver import Deliverer
from omniout.errors import ConfigError
from omniout.ledger import Ledger, LedgerWriter, open_ledger
from omniout.pipeline import Pipeline
from omniout.replies import ReplyWriter
from omniout.routing import Route, compile_routes

__all__ = ["install_signal_handlers", "serve"]

logger = logging.getLogger(__name__)

_PRUNE_INTERVAL = 3600.0


async def serve(
    settings: Settings,
    *,
    config_file: str,
    stopping: asyncio.Event,
    redeliver: bool = False,
) -> None:
    """Run one consumer-group member until ``stopping`` is set."""
    routes = compile_routes(settings.routes, file=config_file)
    store = SchemaStore.load(settings.schemas_dir)
    async with contextlib.AsyncExitStack() as stack:
        registry = None
        if settings.schema_registry_url:
            registry = RegistryClient(settings.schema_registry_url)
            stack.push_async_callback(registry.aclose)
        decoder = Decoder(store, registry)

        ledger = open_ledger(settings.ledger.url)
        await ledger.open()
        stack.push_async_callback(ledger.close)
        writer = LedgerWriter(ledger, max_delay=0)
        stack.push_async_callback(writer.close)

        producer = AIOKafkaProducer(
            **client_options(settings.kafka), acks="all", enable_idempotence=True
        )
        await producer.start()
        stack.push_async_callback(producer.stop)

        deliverer = Deliverer()
        stack.push_async_callback(deliverer.aclose)

        pipeline = Pipeline(
            routes,
            reader_schemas(routes, store, config_file),
            decoder,
            deliverer,
            ledger,
            writer,
            DeadLetterWriter(producer),
            stopping=stopping,
            redeliver=redeliver,
            replies=ReplyWriter(producer),
        )
        kafka = AIOKafkaConsumer(
            **client_options(settings.kafka),
            group_id=settings.kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset=settings.kafka.auto_offset_reset,
            session_timeout_ms=int(settings.kafka.session_timeout * 1000),
        )
        consumer = Consumer(kafka, pipeline, settings.processing, stopping=stopping)
        kafka.subscribe(settings.topics, listener=consumer.listener())
        await kafka.start()
        stack.push_async_callback(kafka.stop)
        logger.info(
            "Joining group %r on %s",
            settings.kafka.group_id,
            ", ".join(settings.topics),
        )
        async with _pruning(ledger, settings.ledger.retention):
            await consumer.run()
        logger.info("Stopped; offsets committed")


def reader_schemas(
    routes: list[Route], store: SchemaStore, config_file: str
) -> dict[str, KnownSchema]:
    """Each route's reader schema, by route name; unknown names are errors."""
    readers: dict[str, KnownSchema] = {}
    for index, route in enumerate(routes):
        if route.schema_name is None:
            continue
        schema = store.by_name(route.schema_name)
        if schema is None:
            known = ", ".join(sorted(s.name for s in store)) or "none"
            raise ConfigError(
                config_file,
                f"routes[{index}].schema",
                f"no schema named {route.schema_name!r} (known: {known})",
            )
        readers[route.name] = schema
    return readers


@contextlib.asynccontextmanager
async def _pruning(ledger: Ledger, retention: float) -> AsyncIterator[None]:
    """Prune old ledger entries now and every hour while the service runs."""

    async def loop() -> None:
        while True:
            try:
                removed = await ledger.prune(time.time() - retention)
            except Exception as exc:  # pruning must never stop delivery
                logger.warning("Ledger pruning failed: %r", exc)
            else:
                if removed:
                    logger.info("Pruned %d ledger entries", removed)
            await asyncio.sleep(_PRUNE_INTERVAL)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install_signal_handlers(stopping: asyncio.Event) -> None:
    """SIGTERM and SIGINT start a graceful stop; a second one is not special."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop, stopping, sig)


def _stop(stopping: asyncio.Event, sig: signal.Signals) -> None:
    logger.info("Received %s, stopping", sig.name)
    stopping.set()
