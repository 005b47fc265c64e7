"""Unanswered questions from transcripts, grouped; and adding an answer to the profile's FAQ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from zylin.business import load_profile
from zylin.business.faq_file import add_faq_entry
from zylin.config import ROOT
from zylin.owner.unanswered import Unanswered, group_questions, unanswered_in
from zylin.storage.records import CallDetail, CallRecord, TurnRecord

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def call(call_id: int, *lines: tuple[str, str]) -> CallDetail:
    turns = [
        TurnRecord(
            id=n,
            call_id=call_id,
            seq=n,
            role=role,
            text=text,
            heard_text=None,
            interrupted=False,
            started_at=T0 + timedelta(seconds=n),
            ended_at=None,
            stt_ms=None,
            llm_ttfb_ms=None,
            tts_ttfb_ms=None,
            voice_to_voice_ms=None,
        )
        for n, (role, text) in enumerate(lines, 1)
    ]
    record = CallRecord(
        id=call_id, call_sid=f"CA{call_id}", stream_sid=None, caller_phone=None,
        called_phone=None, started_at=T0, ended_at=None, end_reason=None, intent=None,
        summary=None, recording_path=None, extra=None,
    )  # fmt: skip
    return CallDetail(call=record, turns=turns, actions=[])


def test_questions_met_with_i_dont_know_or_a_message_offer_are_found() -> None:
    detail = call(
        1,
        ("assistant", "Thanks for calling. How can I help?"),
        ("user", "What are your opening hours?"),
        ("assistant", "We're open nine to five on weekdays."),
        ("user", "Do you do root canals?"),
        ("assistant", "I'm not sure about that. I can take a message for the team."),
        ("user", "Is there wheelchair access at the clinic?"),
        ("assistant", "I don't have that information, but I can take a message."),
        ("user", "Can I leave a message for the owner?"),  # asked for one: not a gap
        ("assistant", "Of course, I can take a message. What's your name?"),
    )
    found = unanswered_in(detail)
    assert [u.question for u in found] == [
        "Do you do root canals?",
        "Is there wheelchair access at the clinic?",
    ]
    assert found[0].call_id == 1 and found[0].asked_at == T0 + timedelta(seconds=4)


def test_alike_wordings_group_and_count_and_the_faq_hides_answered_ones() -> None:
    asked = [
        "Do you do root canals?",
        "Do you do root canal treatment?",
        "Is there wheelchair access?",
        "do you do root canals",
        "Do you offer Invisalign braces?",
    ]
    items = [Unanswered(q, n, T0 + timedelta(minutes=n)) for n, q in enumerate(asked)]
    groups = group_questions(items)
    assert [(g.wording, g.count) for g in groups] == [
        ("Do you do root canals?", 3),
        ("Do you offer Invisalign braces?", 1),
        ("Is there wheelchair access?", 1),
    ]
    assert groups[0].call_ids == [0, 1, 3] and groups[0].last_asked == T0 + timedelta(minutes=3)
    answered = group_questions(items, known=["Do you do root canals?"])
    assert "Do you do root canals?" not in [g.wording for g in answered]


def test_add_to_faq_keeps_the_file_as_written_and_backs_it_up(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    original = (ROOT / "business" / "example_profile.yaml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    backup = add_faq_entry(path, '  Do you do "root canals": ever? ', "Yes, on Tuesdays.", now=T0)
    assert backup.read_text(encoding="utf-8") == original
    new = path.read_text(encoding="utf-8")
    assert new.count("\n") == original.count("\n") + 1  # one line added, nothing else moved
    assert "# Booking rules." in new and "# The business Zylin answers for." in new
    profile = load_profile(path)
    assert profile.faq[-1].q == 'Do you do "root canals": ever?'
    assert profile.faq[-1].a == "Yes, on Tuesdays."
    assert [f.q for f in profile.faq[:-1]] == [f.q for f in load_profile(backup).faq]


def test_add_to_faq_without_a_faq_block_or_in_flow_style(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "business" / "example_profile.yaml").read_text())
    for faq in (None, []):
        path = tmp_path / f"profile-{faq}.yaml"
        body = {k: v for k, v in data.items() if k != "faq"}
        if faq is not None:
            body["faq"] = faq
        path.write_text(yaml.safe_dump(body, default_flow_style=None), encoding="utf-8")
        add_faq_entry(path, "Do you do root canals?", "Yes.", now=T0)
        assert [(f.q, f.a) for f in load_profile(path).faq] == [("Do you do root canals?", "Yes.")]


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("", "Yes.", "question"),
        ("Root canals?", "  ", "answer"),
        ("Root canals?", "x" * 1001, "answer"),
    ],
)
def test_a_bad_entry_changes_nothing(
    tmp_path: Path, question: str, answer: str, message: str
) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text((ROOT / "business" / "example_profile.yaml").read_text(), encoding="utf-8")
    before = path.read_text()
    with pytest.raises(ValueError, match=message):
        add_faq_entry(path, question, answer, now=T0)
    assert path.read_text() == before and list(tmp_path.iterdir()) == [path]


def test_a_spanish_call_counts_too() -> None:
    detail = call(
        2,
        ("user", "¿Hacen endodoncias los sábados?"),
        ("assistant", "No estoy segura, pero puedo tomar un mensaje."),
    )
    assert [u.question for u in unanswered_in(detail)] == ["¿Hacen endodoncias los sábados?"]
