"""The supervisor's part of recovery across workers with no queue: one numbered order, the
recent past for a worker that starts, and the sessions (a fake clock; frames as the bus carries them)."""

from __future__ import annotations

import json

from surge.queue.sequencer import Sequencer
from surge.queue.worker_bus import ANSWER, HEADER, JOINED, LIVE, PAST, SEQ


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def made(window: float = 10.0, max_bytes: int = 1000) -> tuple[Sequencer, Clock]:
    clock = Clock()
    return Sequencer(window, max_bytes, clock), clock


def test_every_message_gets_the_next_place() -> None:
    seq, _ = made()
    assert seq.number(b'{"a":1}') == LIVE + SEQ.pack(1) + b'{"a":1}'
    assert seq.number(b'{"b":2}') == LIVE + SEQ.pack(2) + b'{"b":2}'


def test_a_worker_that_starts_gets_the_window_then_where_the_order_stands() -> None:
    seq, clock = made(window=10.0, max_bytes=25)
    for n in range(4):
        seq.number(b"m%d-padding" % n)  # 11 bytes each: the log holds two
        clock.now += 1
    clock.now += 0.5
    frames = seq.past()
    assert frames[:-1] == [
        PAST + SEQ.pack(3) + HEADER.pack(2500) + b"m2-padding",
        PAST + SEQ.pack(4) + HEADER.pack(1500) + b"m3-padding",
    ]
    assert frames[-1] == JOINED + SEQ.pack(4) + SEQ.pack(2)  # complete after 2
    clock.now += 20
    seq.number(b"late")
    assert seq.past()[-1] == JOINED + SEQ.pack(5) + SEQ.pack(4)  # the old ones aged out


def claim(seq: Sequencer, index: int, pid: str) -> object:
    answer = seq.session(index, {"op": "claim", "pid": pid, "id": 7, "node": f"n{index}"})
    assert answer is not None and answer.startswith(ANSWER)
    return json.loads(answer[1:])["record"]


def record(node: str) -> dict[str, object]:
    return {"node": node, "sid": "s1", "ns": "/", "rooms": ["s1"], "connect": 0}


def test_a_session_is_claimed_once_and_changed_only_by_its_process() -> None:
    seq, _ = made()
    assert seq.session(0, {"op": "create", "pid": "p", "node": "n0", "record": record("n0")}) is None
    seq.session(0, {"op": "update", "pid": "p", "node": "n0", "rooms": ["s1", "r1"]})
    seq.session(1, {"op": "update", "pid": "p", "node": "n1", "rooms": ["stale"]})  # not its session
    seq.session(1, {"op": "end", "pid": "p", "node": "n1"})
    assert claim(seq, 1, "p") == {**record("n0"), "rooms": ["s1", "r1"]}
    assert claim(seq, 0, "p") is None


def test_a_lost_session_and_those_of_a_dead_worker_last_the_window() -> None:
    seq, clock = made(window=10.0)
    for pid, index in (("lost", 0), ("of-dead", 1), ("of-live", 0)):
        seq.session(index, {"op": "create", "pid": pid, "node": f"n{index}", "record": record(f"n{index}")})
    seq.session(0, {"op": "lost", "pid": "lost", "node": "n0"})
    seq.worker_gone(1)
    clock.now += 9
    seq.sweep()
    assert set(seq.sessions) == {"lost", "of-dead", "of-live"}
    clock.now += 2
    assert claim(seq, 0, "lost") is None  # past its window, swept or not
    seq.sweep()
    assert set(seq.sessions) == {"of-live"}
