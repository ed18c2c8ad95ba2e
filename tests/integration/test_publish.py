"""``omniout publish`` against the real broker.

Happy paths run the command as a process, reading a file or a real pipe;
argument and input errors run in this process through typer's runner, and
each then checks on the broker that the topic stayed empty.
"""

from __future__ import annotations

import asyncio
import os
import pty
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from typer.testing import CliRunner, Result

from omniout.cli.main import app
from omniout.decode import Decoder, SchemaStore
from tests.integration.conftest import TopicFactory
from tests.integration.engine import ORDER_SCHEMA, SCHEMAS, order, read_all
from tests.integration.processes import OMNIOUT, child_env, omniout, write_config

pytestmark = pytest.mark.integration


def config_for(kafka: str, topic: str, tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "publish.yaml",
        {
            "kafka": {"bootstrap_servers": kafka},
            "schemas_dir": SCHEMAS,
            "routes": [
                {
                    "name": "orders",
                    "topic": topic,
                    "schema": ORDER_SCHEMA,
                    "endpoint": {"url": "http://127.0.0.1:9/orders"},
                }
            ],
        },
    )


def jsonl(*events: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(event) + b"\n" for event in events)


def bare(number: int) -> dict[str, Any]:
    """An order event without the two fields publish fills in."""
    event = order(number, Order_Id__c=f"801{number:03d}")
    del event["EventUuid"], event["CreatedDate"]
    return event


async def decoded(kafka: str, topic: str, count: int) -> list[tuple[bytes, Any]]:
    decoder = Decoder(SchemaStore.load(SCHEMAS))
    records = await read_all(kafka, topic, expected=count)
    records.sort(key=lambda r: (r.partition, r.offset))
    return [(r.key, (await decoder.decode(r.value)).record) for r in records]


async def end_offset(kafka: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        ends = await consumer.end_offsets([tp])
    finally:
        await consumer.stop()
    return int(ends[tp])


async def test_a_file_is_published_keyed_with_uuid_and_date_filled_in(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("publish-file")
    given = order(1, Order_Id__c="801001")
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(given, bare(2)) + b"\n" + jsonl(bare(3)))
    config = config_for(kafka, topic, tmp_path)
    before = int(time.time() * 1000)

    done = await omniout(
        "publish", "-c", config, "--topic", topic, "--file", source,
        "--key-field", "Order_Id__c",
    )  # fmt: skip

    assert done.code == 0, done.stderr
    assert done.stdout == f"Published 3 event(s) to {topic}\n"
    records = await decoded(kafka, topic, 3)
    assert [key for key, _ in records] == [b"801001", b"801002", b"801003"]
    first, *filled = (event for _, event in records)
    assert first == {**first, **given}
    for event in filled:
        assert uuid.UUID(event["EventUuid"]).version == 4
        assert before <= event["CreatedDate"] <= int(time.time() * 1000)
    assert len({event["EventUuid"] for _, event in records}) == 3


@pytest.mark.parametrize("file_args", [["--file", "-"], []], ids=["dash", "none"])
async def test_events_piped_to_stdin_are_published(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, file_args: list[str]
) -> None:
    topic = await new_topic("publish-stdin")
    config = config_for(kafka, topic, tmp_path)

    done = await omniout(
        "publish", "-c", config, "--topic", topic, *file_args,
        stdin=jsonl(bare(1), bare(2)),
    )  # fmt: skip

    assert done.code == 0, done.stderr
    records = await decoded(kafka, topic, 2)
    assert [event["Order_Number__c"] for _, event in records] == [
        "00000001",
        "00000002",
    ]
    assert all(key is None for key, _ in records)


BAD_LINES = [
    pytest.param(
        {**bare(3), "Total_Amount__c": "abc"},
        "line 3: field 'Total_Amount__c': expected double or null, got 'abc'",
        id="wrong-type",
    ),
    pytest.param(
        {**bare(3), "Order_Total__c": 1.0},
        "line 3: field 'Order_Total__c': not in schema " + ORDER_SCHEMA,
        id="unknown-field",
    ),
    pytest.param(
        {**bare(3), "CreatedById": None},
        "line 3: field 'CreatedById': expected string, got null",
        id="missing-required",
    ),
    pytest.param(
        {**bare(3), "Order_Id__c": None},
        "line 3: key field 'Order_Id__c' is empty",
        id="empty-key",
    ),
    pytest.param("not json", "line 3: not JSON", id="not-json"),
    pytest.param([1, 2], "line 3: an event must be a JSON object", id="array"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
async def test_a_bad_event_names_its_line_and_field_and_nothing_is_sent(
    kafka: str, new_topic: TopicFactory, tmp_path: Path, line: Any, message: str
) -> None:
    topic = await new_topic("publish-bad")
    config = config_for(kafka, topic, tmp_path)
    third = line.encode() + b"\n" if isinstance(line, str) else jsonl(line)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1), bare(2)) + third + jsonl(bare(4)))

    result = invoke(
        "publish", "-c", config, "--topic", topic, "--file", source,
        "--key-field", "Order_Id__c",
    )  # fmt: skip

    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.rstrip().endswith("nothing was sent")
    assert await end_offset(kafka, topic) == 0


BAD_ARGUMENTS = [
    pytest.param(["--key-field", "Order_Key__c"], "key field 'Order_Key__c' is not in "
                 "schema " + ORDER_SCHEMA, id="key-field-not-in-schema"),
    pytest.param(["--schema", "com.example.Missing"],
                 "no schema named 'com.example.Missing'", id="unknown-schema"),
    pytest.param(["--file", "missing.jsonl"], "missing.jsonl: No such file",
                 id="missing-file"),
    pytest.param(["--file", "latin1.jsonl"], "not UTF-8", id="not-utf8"),
    pytest.param(["--file", "empty.jsonl"], "no events in the input", id="empty"),
    pytest.param(["--bogus"], "No such option", id="unknown-option"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS)
async def test_bad_arguments_exit_2_with_a_message_and_send_nothing(
    kafka: str,
    new_topic: TopicFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    topic = await new_topic("publish-bad")
    config = config_for(kafka, topic, tmp_path)
    (tmp_path / "orders.jsonl").write_bytes(jsonl(bare(1)))
    (tmp_path / "latin1.jsonl").write_bytes('{"Order_Id__c": "Ä"}\n'.encode("latin-1"))
    (tmp_path / "empty.jsonl").write_bytes(b"\n\n")
    monkeypatch.chdir(tmp_path)
    if "--file" not in args:
        args = [*args, "--file", "orders.jsonl"]

    result = invoke("publish", "-c", config, "--topic", topic, *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert await end_offset(kafka, topic) == 0


async def test_a_topic_without_a_route_needs_a_schema(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    routed = await new_topic("publish-bad")
    config = config_for(kafka, routed, tmp_path)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(bare(1)))

    result = invoke(
        "publish", "-c", config, "--topic", "elsewhere", "-f", source
    )

    assert result.exit_code == 2
    assert f"no route of {config} names a schema for 'elsewhere'" in result.stderr


def test_a_missing_topic_option_is_a_usage_error(tmp_path: Path) -> None:
    config = config_for("127.0.0.1:9092", "orders", tmp_path)

    result = CliRunner().invoke(app, ["publish", "-c", str(config)])

    assert result.exit_code == 2
    assert "--topic" in result.stderr


async def test_a_large_file_shows_a_progress_bar_only_on_a_terminal(
    kafka: str, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = await new_topic("publish-large")
    config = config_for(kafka, topic, tmp_path)
    source = tmp_path / "orders.jsonl"
    source.write_bytes(jsonl(*(bare(n) for n in range(2500))))
    args: list[str | Path] = ["publish", "-c", config, "--topic", topic, "-f", source]

    piped = await omniout(*args)
    on_terminal = await asyncio.to_thread(_run_with_terminal_stderr, args)

    assert piped.code == 0, piped.stderr
    assert piped.stdout == f"Published 2500 event(s) to {topic}\n"
    assert piped.stderr == ""
    code, out, terminal = on_terminal
    assert code == 0
    assert out == f"Published 2500 event(s) to {topic}\n".encode()
    assert b"Publishing to " + topic.encode() in terminal
    assert await end_offset(kafka, topic) == 5000


def _run_with_terminal_stderr(args: list[str | Path]) -> tuple[int, bytes, bytes]:
    """Run omniout with stdout piped and stderr on a pseudo-terminal."""
    import subprocess

    main, child = pty.openpty()
    seen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the child side is closed
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        done = subprocess.run(
            [str(OMNIOUT), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=child,
            env=child_env(TERM="xterm", COLUMNS="120"),
            timeout=60,
            check=False,
        )
    finally:
        os.close(child)
        reader.join(timeout=10)
        os.close(main)
    return done.returncode, done.stdout, bytes(seen)


def invoke(*args: str | Path) -> Result:
    """Run the command in this process and thread.

    Only for commands that fail before sending: sending runs an event loop
    of its own, which cannot start inside the test's. (A thread would do,
    but the expressions of compiled routes must be dropped on the thread
    that made them.)
    """
    return CliRunner().invoke(app, [str(a) for a in args])
