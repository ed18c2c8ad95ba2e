"""The running service: every part built from the settings, then the loop.

:func:`serve` owns the lifetimes: it opens the admin port, the ledger, the
producer for dead letters and the HTTP client before joining the group, and
closes them in the reverse order after the consumer has drained and
committed; queued spans are exported last. While no broker is reachable it
keeps trying (the admin port says why it is not ready) until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from omniout.admin import AdminServer, Readiness
from omniout.config import Settings
from omniout.consume.client import client_options
from omniout.consume.consumer import Consumer
from omniout.consume.rejection import raise_if_rejected
from omniout.deadletter import DeadLetterWriter
from omniout.decode import Decoder, KnownSchema, SchemaStore
from omniout.decode.settings import open_registry
from omniout.deliver import Deliverer
from omniout.deliver.auth import open_credentials
from omniout.deliver.limits import open_limiters
from omniout.errors import ConfigError
from omniout.invoke import Invoker
from omniout.ledger import Ledger, LedgerWriter, open_ledger
from omniout.pipeline import Pipeline
from omniout.replies import ReplyWriter
from omniout.routing import Route, compile_routes
from omniout.telemetry.metric_push import pushing_metrics, setup_metric_push
from omniout.telemetry.metrics import Metrics
from omniout.telemetry.tracing import setup_tracing

__all__ = ["install_signal_handlers", "reader_schemas", "serve"]

logger = logging.getLogger(__name__)

_PRUNE_INTERVAL = 3600.0
_MAX_CONNECT_BACKOFF = 10.0


async def serve(
    settings: Settings,
    *,
    config_file: str,
    stopping: asyncio.Event,
    redeliver: bool = False,
    on_admin: Callable[[str], None] | None = None,
) -> None:
    """Run one consumer-group member until ``stopping`` is set.

    ``on_admin`` is called with the admin port's URL once it is bound.
    """
    routes = compile_routes(settings.routes, file=config_file)
    credentials = open_credentials(settings.credentials, file=config_file)
    store = SchemaStore.load(settings.schemas_dir)
    readers = reader_schemas(routes, store, config_file)
    # Its password is read here, with the other secrets, before any connection.
    registry = None
    if settings.schema_registry is not None:
        registry = open_registry(settings.schema_registry, config_file=config_file)
    tracing = setup_tracing()
    tracer = tracing.tracer
    metrics = Metrics()
    limits = open_limiters(settings.routes, file=config_file, metrics=metrics)
    readiness = Readiness()
    push = setup_metric_push()
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(asyncio.to_thread, tracing.shutdown)
        await stack.enter_async_context(pushing_metrics(push, metrics))
        admin = None
        if settings.admin.enabled:
            admin = AdminServer(settings.admin, readiness, metrics)
            url = await admin.start()
            stack.push_async_callback(admin.stop)
            if on_admin is not None:
                on_admin(url)
        readiness.stopping = stopping
        if registry is not None:
            stack.push_async_callback(registry.aclose)
        decoder = Decoder(store, registry)

        ledger = open_ledger(settings.ledger.url, table=settings.ledger.table)
        await ledger.open()
        stack.push_async_callback(ledger.close)
        readiness.ledger = ledger.ping
        writer = LedgerWriter(ledger, max_delay=0)
        stack.push_async_callback(writer.close)

        producer = AIOKafkaProducer(
            **client_options(settings.kafka), acks="all", enable_idempotence=True
        )
        # Stopped also when it never started: its connections may be open.
        stack.push_async_callback(producer.stop)
        if not await _start_when_reachable(
            producer.start, readiness, stopping, settings
        ):
            return

        deliverer = Deliverer(credentials=credentials, tracer=tracer, limits=limits)
        stack.push_async_callback(deliverer.aclose)
        if admin is not None:
            admin.invoker = Invoker(
                routes, deliverer, writer, tracer=tracer, metrics=metrics
            )

        pipeline = Pipeline(
            routes,
            readers,
            decoder,
            deliverer,
            ledger,
            writer,
            DeadLetterWriter(producer),
            stopping=stopping,
            redeliver=redeliver,
            tracer=tracer,
            metrics=metrics,
            replies=ReplyWriter(producer),
        )
        kafka = AIOKafkaConsumer(
            **client_options(settings.kafka),
            group_id=settings.kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset=settings.kafka.auto_offset_reset,
            session_timeout_ms=int(settings.kafka.session_timeout * 1000),
        )
        consumer = Consumer(
            kafka,
            pipeline,
            settings.processing,
            stopping=stopping,
            group=settings.kafka.group_id,
            tracer=tracer,
        )
        kafka.subscribe(settings.topics, listener=consumer.listener())
        stack.push_async_callback(kafka.stop)
        if not await _start_when_reachable(
            kafka.start, readiness, stopping, settings
        ):
            return
        readiness.broker = kafka.topics
        readiness.joined = consumer.joined
        logger.info(
            "Joining group %r on %s",
            settings.kafka.group_id,
            ", ".join(settings.topics),
        )
        async with _pruning(ledger, settings.ledger.retention):
            await consumer.run()
        logger.info("Stopped; offsets committed")


async def _start_when_reachable(
    start: Callable[[], Awaitable[None]],
    readiness: Readiness,
    stopping: asyncio.Event,
    settings: Settings,
) -> bool:
    """Start a Kafka client, retrying while no broker answers.

    Returns False when ``stopping`` is set first. Other errors (bad
    credentials, for one) are raised: waiting cannot fix them.
    """
    delay = 0.5
    while not stopping.is_set():
        try:
            await start()
        except KafkaConnectionError as exc:
            await raise_if_rejected(settings.kafka)
            readiness.broker_error = f"unreachable: {exc}"
            logger.warning("Kafka unreachable, retrying in %.1fs: %s", delay, exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stopping.wait()
            delay = min(delay * 2, _MAX_CONNECT_BACKOFF)
            continue
        return True
    return False


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
