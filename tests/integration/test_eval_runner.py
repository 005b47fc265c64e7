"""`./zylin eval`: scenarios as text calls through the real tools, on the demo brain and on the
real OpenAI client against the local OpenAI server; `--from-call` on a seeded recorded call."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.fakes.openai_server import OpenAIFake, Text, ToolCall, last_tool_result
from eval_runner.cli import parse_args, run_command
from eval_runner.from_call import dump_scenario, scenario_from_call
from eval_runner.scenario import ScenarioError, load_scenario, scenario_files
from tests.storage_fixtures import (
    CALLER,
    Clock,
    ToolHarness,
    example_profile,
    make_context,
    open_repository,
)
from tools.booking import book_appointment, cancel_appointment, reschedule_appointment
from tools.messages import take_message
from zylin.config import ROOT, Settings
from zylin.storage.repository import Repository
from zylin.telephony import TwilioRest

TOOL_NAMES = {
    "book_appointment",
    "cancel_appointment",
    "check_availability",
    "end_call",
    "find_my_appointments",
    "reschedule_appointment",
    "take_message",
    "transfer_to_human",
}
BOOK = {
    "name": "book a cleaning",
    "now": "2026-12-01T09:00",
    "turns": ["I'd like to book a cleaning tomorrow at ten", "My name is Alex Tester", "Yes"],
    "expect": {
        "tools": ["book_appointment"],
        "not_tools": ["transfer_to_human"],
        "appointments": [
            {"service": "Cleaning", "date": "2026-12-02", "time": "10:00", "name": "Alex Tester"}
        ],
        "said": [["ten", "10"]],
    },
}


def write(folder: Path, name: str, scenario: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def demo_settings(tmp_path: Path) -> Settings:
    values = {"llm_provider": "demo", "database_url": f"sqlite:///{tmp_path / 'zylin.db'}"}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def openai_settings(fake: OpenAIFake, tmp_path: Path) -> Settings:
    values = {
        "openai_api_key": "test-openai-key",
        "openai_base_url": f"{fake.base_url}/v1",
        "database_url": f"sqlite:///{tmp_path / 'zylin.db'}",
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def evaluate(argv: list[str], settings: Settings) -> int:
    return await run_command(parse_args(argv), settings)


def rows(output: str) -> dict[str, str]:
    """Scenario name -> its row, from the printed report."""
    found = {}
    for line in output.splitlines():
        if line.startswith(("PASS  ", "FAIL  ")):
            found[line[6:].split("  (", 1)[0]] = line
    return found


# --- The shipped scenarios ------------------------------------------------------------------


def test_the_shipped_scenarios_are_valid_and_cover_the_issue() -> None:
    files = scenario_files([ROOT / "evals"])
    scenarios = [load_scenario(f, known_tools=TOOL_NAMES) for f in files]
    assert len(scenarios) >= 15
    acted = {t for s in scenarios for t in s.expect.tools}
    assert {"book_appointment", "reschedule_appointment", "cancel_appointment"} <= acted
    assert {"transfer_to_human", "take_message", "end_call"} <= acted
    assert any(s.before and s.before[0].phone for s in scenarios)  # another caller's booking


def test_a_bad_scenario_names_its_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "typo", {"turns": ["hi"], "expect": {"tols": ["end_call"]}})
    with pytest.raises(ScenarioError, match=r"typo\.yaml: 'expect' has unknown key\(s\) tols"):
        load_scenario(path, known_tools=TOOL_NAMES)
    path.write_text('turns: ["hi"]\nexpect: {appointments: [{time: 10:00}]}\n')
    with pytest.raises(ScenarioError, match="write the time in quotes"):
        load_scenario(path, known_tools=TOOL_NAMES)


# --- The demo brain ---------------------------------------------------------------------------


async def test_demo_brain_scenarios_pass_and_fail_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "evals"
    write(folder, "book", BOOK)
    move = {
        "name": "move my cleaning",
        "now": "2026-12-01T09:00",
        "before": {
            "appointments": [
                {"service": "Cleaning", "date": "2026-12-03", "time": "10:00", "name": "Ann Lee"}
            ]
        },
        "turns": ["I need to move my cleaning", "Friday at eleven please", "Yes please"],
        "expect": {
            "tools": ["reschedule_appointment"],
            "appointments": [{"service": "Cleaning", "date": "2026-12-04", "time": "11:00"}],
            "not_appointments": [{"date": "2026-12-03"}],
        },
    }
    write(folder, "move", move)
    wrong = {
        "name": "expects what did not happen",
        "now": "2026-12-01T09:00",
        "turns": ["What are your opening hours?"],
        "expect": {"tools": ["take_message"], "said": ["we are closed forever"]},
    }
    write(folder, "wrong", wrong)
    early = {"name": "ends early", "turns": ["No thanks, goodbye", "Oh wait, one more thing"]}
    write(folder, "early", early)

    code = await evaluate([str(folder)], demo_settings(tmp_path))

    report = rows(capsys.readouterr().out)
    assert code == 1
    assert report["book a cleaning"].startswith("PASS")
    assert report["move my cleaning"].startswith("PASS")
    failed = report["expects what did not happen"]
    assert failed.startswith("FAIL")
    assert "take_message was not called (no tool was called)" in failed
    assert "Zylin never said 'we are closed forever'" in failed
    assert (
        "call ended (bot_ended) after turn 1 of 2; the caller never got to say "
        "'Oh wait, one more thing'"
    ) in report["ends early"]

    code = await evaluate([str(folder / "book.yaml")], demo_settings(tmp_path))
    assert code == 0
    assert not (tmp_path / "zylin.db").exists()  # the configured database was never touched


# --- The real OpenAI client against the local OpenAI server ----------------------------------


def _booking_replies(start: str) -> list[Any]:
    """A model that checks, reads back, and books at `start` after the yes."""
    return [
        ToolCall("check_availability", {"date": "2026-12-02", "service": "Cleaning"}),
        Text("Ten is free. May I have your name?"),
        Text(
            "A cleaning on Wednesday, December second at ten in the morning for Alex Tester. "
            "Shall I book it?"
        ),
        ToolCall(
            "book_appointment",
            {"service": "Cleaning", "start": start, "caller_name": "Alex Tester"},
        ),
        Text("You're booked for ten."),
    ]


async def test_openai_scenarios_use_the_calls_prompt_tools_and_real_tool_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with OpenAIFake() as fake:
        settings = openai_settings(fake, tmp_path)
        fake.queue_chat(*_booking_replies("2026-12-02T10:00"))
        path = write(tmp_path / "evals", "book", BOOK)

        code = await evaluate([str(path)], settings)

        out = capsys.readouterr().out
        assert code == 0, out
        assert "(brain: openai gpt-4.1-mini at http://127.0.0.1" in out
        first = fake.chat_requests[0]
        system = first["messages"][0]
        assert system["role"] == "system" and "Shall I book it?" in system["content"]
        assert "Tuesday, December 1, 2026" in system["content"]  # `now` pinned
        tools = {t["function"]["name"] for t in first["tools"]}
        assert tools == TOOL_NAMES
        # The real tool answered from the scratch database (not a scripted result).
        booked = json.loads(last_tool_result(fake.chat_requests[4]) or "{}")
        assert booked["when"] == "Wednesday, December 2 at 10:00 AM"
        assert fake.pending_chat == 0


async def test_openai_scenario_that_books_the_wrong_time_fails_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with OpenAIFake() as fake:
        settings = openai_settings(fake, tmp_path)
        fake.queue_chat(*_booking_replies("2026-12-02T11:00"))
        path = write(
            tmp_path / "evals",
            "book",
            {**BOOK, "expect": {**BOOK["expect"], "not_tools": ["book_appointment"]}},
        )

        code = await evaluate([str(path)], settings)

        row = rows(capsys.readouterr().out)["book a cleaning"]
        assert code == 1
        assert row.startswith("FAIL")
        assert (
            "no Cleaning on 2026-12-02 at 10:00 for Alex Tester is booked "
            "(booked: Cleaning on 2026-12-02 at 11:00 for Alex Tester)"
        ) in row
        assert "book_appointment was called with" in row


# --- --from-call ----------------------------------------------------------------------------

# Tuesday 1 December 2026, 09:00 in New York (the example profile's timezone).
CALL_START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


async def record_call(
    repo: Repository, clock: Clock, call_sid: str, lines: list[tuple[str, str]]
) -> ToolHarness:
    """A recorded call as the server leaves it: its row, its transcript turns."""
    ctx = make_context(repo, TwilioRest(None, None, None), clock, call_sid=call_sid)
    await repo.create_call(call_sid, caller_phone=ctx.caller_phone, started_at=clock())
    for seq, (role, text) in enumerate(lines):
        await repo.add_turn(call_sid, seq=seq, role=role, text=text)
    return ToolHarness(ctx)


async def test_from_call_writes_a_scenario_that_replays_what_the_call_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = demo_settings(tmp_path)
    clock = Clock(CALL_START)
    repo, engine = await open_repository(settings.database_url, clock)
    try:
        # An appointment from an earlier call, which this call moves.
        earlier = await repo.book(
            service="Checkup",
            start_at=datetime(2026, 12, 3, 15, 0, tzinfo=UTC),  # Thursday 10:00 local
            end_at=datetime(2026, 12, 3, 15, 45, tzinfo=UTC),
            caller_name="Ann Lee",
            caller_phone=CALLER,
        )
        call = await record_call(
            repo,
            clock,
            "CA" + "7" * 32,
            [
                ("assistant", "Thanks for calling. How can I help you today?"),
                ("user", "I need to move my checkup"),
                ("assistant", "What day would you like to move it to?"),
                ("user", "Friday at eleven please"),
                ("assistant", "Friday, December 4 at 11 AM. Shall I move it?"),
                ("user", "Yes please"),
            ],
        )
        moved = await call.call(
            reschedule_appointment, appointment_id=earlier.id, new_start="2026-12-04T11:00"
        )
        assert moved["when"] == "Friday, December 4 at 11:00 AM"
        detail = await repo.get_call_by_sid(call.ctx.call_sid)
        assert detail is not None
    finally:
        await engine.dispose()
    out = tmp_path / "replays" / "moved.yaml"

    code = await evaluate(["--from-call", str(detail.call.id), "--out", str(out)], settings)

    assert code == 0
    assert "wrote" in capsys.readouterr().out
    written = yaml.safe_load(out.read_text())
    assert written["now"] == "2026-12-01T09:00"
    assert written["caller_phone"] == CALLER
    assert written["turns"] == [
        "I need to move my checkup",
        "Friday at eleven please",
        "Yes please",
    ]
    assert written["before"] == {
        "appointments": [
            {
                "service": "Checkup",
                "date": "2026-12-03",
                "time": "10:00",
                "name": "Ann Lee",
                "phone": CALLER,
            }
        ]
    }
    assert written["expect"] == {
        "tools": ["reschedule_appointment"],
        "appointments": [
            {"service": "Checkup", "date": "2026-12-04", "time": "11:00", "name": "Ann Lee"}
        ],
        "not_appointments": [{"service": "Checkup", "date": "2026-12-03", "time": "10:00"}],
    }
    # The same call again, by CallSid: the file exists, and nothing is overwritten silently.
    code = await evaluate(["--from-call", detail.call.call_sid, "--out", str(out)], settings)
    assert code == 2
    assert "exists; pass --force" in capsys.readouterr().err

    # Replayed on a scratch database: the seeded appointment is moved again, as in the call.
    code = await evaluate([str(out)], settings)
    report = capsys.readouterr().out
    assert code == 0, report


async def test_from_call_expects_bookings_left_and_cancellations_gone(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    clock = Clock(CALL_START)
    repo, engine = await open_repository(settings.database_url, clock)
    try:
        earlier = await repo.book(
            service="Whitening",
            start_at=datetime(2026, 12, 2, 19, 0, tzinfo=UTC),  # Wednesday 14:00 local
            end_at=datetime(2026, 12, 2, 20, 0, tzinfo=UTC),
            caller_name="Ann Lee",
            caller_phone=CALLER,
        )
        call = await record_call(
            repo, clock, "CA" + "8" * 32, [("user", "Cancel my whitening and book a cleaning")]
        )
        await call.call(cancel_appointment, appointment_id=earlier.id)
        made = await call.call(
            book_appointment, service="Cleaning", start="2026-12-03T09:30", caller_name="Ann Lee"
        )
        later = await call.call(
            book_appointment, service="Checkup", start="2026-12-07T10:00", caller_name="Ann Lee"
        )
        await call.call(cancel_appointment, appointment_id=later["appointment_id"])
        await call.call(take_message, caller_name="Ann Lee", message="Call me back")
        detail = await repo.get_call_by_sid(call.ctx.call_sid)
        assert detail is not None and made["appointment_id"]
        scenario = await scenario_from_call(repo, detail, example_profile())
    finally:
        await engine.dispose()

    assert scenario["turns"] == ["Cancel my whitening and book a cleaning"]
    assert scenario["expect"]["tools"] == ["cancel_appointment", "book_appointment", "take_message"]
    assert scenario["expect"]["appointments"] == [
        {"service": "Cleaning", "date": "2026-12-03", "time": "09:30", "name": "Ann Lee"}
    ]
    gone = scenario["expect"]["not_appointments"]
    assert {"service": "Whitening", "date": "2026-12-02", "time": "14:00"} in gone
    assert {"service": "Checkup", "date": "2026-12-07", "time": "10:00"} in gone
    assert [b["service"] for b in scenario["before"]["appointments"]] == ["Whitening"]
    # What it writes is a valid scenario.
    path = tmp_path / "call.yaml"
    path.write_text(dump_scenario(scenario))
    assert load_scenario(path, known_tools=TOOL_NAMES).expect.tools == (
        "cancel_appointment",
        "book_appointment",
        "take_message",
    )


def test_the_readme_scenario_example_is_a_valid_scenario(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Check a prompt or tool edit: `./zylin eval`", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    scenario = load_scenario(path, known_tools=TOOL_NAMES)
    assert scenario.expect.said == (("ten",), ("1 pm", "one p.m."))
    assert scenario.before[0].phone == "+15550009999"
