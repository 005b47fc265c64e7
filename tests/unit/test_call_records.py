"""Call records: the queued writer rides out database outages; heard text; rule summaries."""

import asyncio
from datetime import UTC, datetime

from loguru import logger

from zylin.call.record.recorder import heard_part
from zylin.call.record.summary import summarize_by_rules
from zylin.call.record.writer import RecordWriter
from zylin.storage.repository import ActionRecord, CallDetail, CallRecord, TurnRecord

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


async def test_writes_keep_their_order_and_survive_a_short_outage() -> None:
    written: list[int] = []
    failures = {"left": 2}
    outages: list[str] = []

    def writer_for(n: int):
        async def write() -> None:
            if n == 1 and failures["left"]:
                failures["left"] -= 1
                raise ConnectionError("database is restarting")
            written.append(n)

        return write

    writer = RecordWriter(retry_delays=(0.01, 0.01, 0.01), on_failure=outages.append)
    writer.start()
    for n in range(1, 4):
        writer.put(f"turn {n}", writer_for(n), seq=n)
    await writer.close()
    assert written == [1, 2, 3]
    assert writer.failed == []
    assert outages == ["turn 1"]


async def test_a_record_that_can_never_be_written_is_logged_in_full() -> None:
    lines: list[str] = []
    sink = logger.add(lines.append, level="ERROR", format="{message}")

    async def broken() -> None:
        raise ConnectionError("database is gone")

    try:
        writer = RecordWriter(retry_delays=(0.01,))
        writer.start()
        writer.put("turn 7", broken, seq=7, text="I'd like a cleaning on Tuesday")
        await writer.close()
    finally:
        logger.remove(sink)
    said = "I'd like a cleaning on Tuesday"
    assert writer.failed == [{"record": "turn 7", "seq": 7, "text": said}]
    assert any(said in line for line in lines)


async def test_close_does_not_hang_on_a_stuck_database() -> None:
    async def stuck() -> None:
        await asyncio.sleep(60)

    writer = RecordWriter(retry_delays=())
    writer.start()
    writer.put("turn 1", stuck, seq=1)
    writer.put("turn 2", stuck, seq=2)
    await writer.close(timeout_secs=0.1)
    assert [r["seq"] for r in writer.failed] == [2]


def test_heard_part_rounds_to_words() -> None:
    text = "We are open nine to five on weekdays"
    assert heard_part(text, 0.5) == "We are open nine"
    assert heard_part(text, 0.0) == ""
    assert heard_part(text, 1.5) == text


def _detail(kinds: list[str], user: list[str]) -> CallDetail:
    call = CallRecord(
        id=1,
        call_sid="CA1",
        stream_sid="MZ1",
        caller_phone="+15550001111",
        called_phone="+15550002222",
        started_at=NOW,
        ended_at=NOW,
        end_reason="bot_ended",
        intent=None,
        summary=None,
        recording_path=None,
        extra=None,
    )
    turns = [
        TurnRecord(i, 1, i, "user", text, None, False, None, None, None, None, None, None)
        for i, text in enumerate(user)
    ]
    actions = [ActionRecord(i, 1, kind, {}, NOW) for i, kind in enumerate(kinds)]
    return CallDetail(call=call, turns=turns, actions=actions)


def test_rule_summary_picks_the_intent_from_actions() -> None:
    assert summarize_by_rules(_detail(["booked", "sms"], ["book a cleaning"])).intent == "booking"
    assert summarize_by_rules(_detail(["transfer"], ["a person please"])).intent == "escalation"
    assert summarize_by_rules(_detail(["cancelled"], ["cancel it"])).intent == "cancel"
    assert summarize_by_rules(_detail([], ["what are your hours"])).intent == "question"
    assert summarize_by_rules(_detail([], [])).intent == "other"
    summary = summarize_by_rules(_detail(["booked", "sms"], ["book a cleaning"]))
    assert "booked" in summary.summary and "sms" not in summary.summary
