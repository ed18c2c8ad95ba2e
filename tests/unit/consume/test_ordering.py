from __future__ import annotations

import asyncio

from omniout.consume.ordering import KeyedTurns, Turn


async def test_events_with_one_key_run_one_after_another() -> None:
    turns = KeyedTurns()
    log: list[str] = []

    async def work(name: str, turn: Turn, pause: float) -> None:
        await turn.wait()
        log.append(f"{name} start")
        await asyncio.sleep(pause)
        log.append(f"{name} end")
        turn.release()

    first, second = turns.claim("k"), turns.claim("k")
    await asyncio.gather(work("b", second, 0), work("a", first, 0.02))

    assert log == ["a start", "a end", "b start", "b end"]
    assert len(turns) == 0


async def test_events_with_different_keys_overlap() -> None:
    turns = KeyedTurns()
    running = 0
    peak = 0

    async def work(turn: Turn) -> None:
        nonlocal running, peak
        await turn.wait()
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        turn.release()

    await asyncio.gather(*(work(turns.claim(key)) for key in "abcd"))

    assert peak == 4


async def test_a_released_failure_lets_the_next_event_go() -> None:
    turns = KeyedTurns()
    first, second = turns.claim("k"), turns.claim("k")
    first.release()

    await asyncio.wait_for(second.wait(), timeout=1)


async def test_no_key_means_no_waiting() -> None:
    turns = KeyedTurns()
    turns.claim(None)
    unordered = turns.claim(None)

    await asyncio.wait_for(unordered.wait(), timeout=1)
    assert len(turns) == 0
