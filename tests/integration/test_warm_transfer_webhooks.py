"""A warm transfer's owner side over HTTP: declined or unanswered transfers take a message, and
each outcome is recorded on the call (the accepted one runs end to end in tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devtools.fakes.twilio_dial import run_dial
from tests.harness import (
    ACCOUNT_SID,
    Fakes,
    RunningServer,
    cloud_settings,
    running_fakes,
    running_server,
)
from zylin.fallback import dial_done_url
from zylin.fallback.transfer import transfer_outcome
from zylin.fallback.twiml import warm_transfer_urls
from zylin.storage.repository import ActionRecord
from zylin.telephony import twiml_dial

pytestmark = pytest.mark.timeout(60)

SUMMARY = "Alex Tester about moving Friday's cleaning"


async def offer(fakes: Fakes, server: RunningServer, n: int) -> tuple[str, str]:
    """A call being transferred, as `escalate` leaves it: the escalation, `transfer_offered`,
    and the `<Dial>` with its whisper sent to Twilio. Returns the call SID and whisper URL."""
    repo, sid = server.state.repository, f"CA{n:032x}"
    fakes.twilio.add_call(sid, from_="+15550100123")
    await repo.create_call(sid, caller_phone="+15550100123")
    escalation = await repo.add_escalation(
        call_sid=sid, reason=SUMMARY, outcome="transferred", source="llm"
    )
    await repo.add_action(sid, "transfer_offered", {"escalation_id": escalation})
    action, whisper = warm_transfer_urls(dial_done_url(server.url), sid, escalation)
    twiml = twiml_dial(
        server.state.profile.owner_phone,
        caller_id=None,
        timeout_secs=20,
        fallback_url=action,
        say="Nobody answered.",
        whisper_url=whisper,
    )
    await server.state.twilio.update_call_twiml(sid, twiml)
    return sid, whisper


@pytest.mark.parametrize(
    ("answer", "press", "outcome"),
    [(True, None, "declined"), (True, "2", "declined"), (False, None, "no_answer")],
    ids=["hung up on the whisper", "pressed another key", "did not answer"],
)
async def test_a_transfer_not_taken_asks_the_caller_for_a_message(
    tmp_path: Path, answer: bool, press: str | None, outcome: str
) -> None:
    async with (
        running_fakes() as fakes,
        running_server(cloud_settings(fakes, tmp_path)) as server,
    ):
        sid, _ = await offer(fakes, server, 1)
        run = await run_dial(fakes.twilio, sid, answer=answer, press=press, base_url=server.url)
        assert not run.connected
        assert (run.whisper is not None) == answer
        assert run.after is not None and [el.tag for el in run.after] == [
            "Say",
            "Record",
            "Redirect",
        ]  # the caller is asked for a message
        detail = await server.state.repository.get_call_by_sid(sid)
        assert detail is not None
        [result] = [a.detail for a in detail.actions if a.kind == "transfer_result"]
        assert result is not None and result["outcome"] == outcome
        assert result["dial_status"] == ("completed" if answer else "no-answer")
        [transfer] = (detail.call.extra or {})["transfers"]
        assert transfer["outcome"] == outcome
        assert (transfer["answer_secs"] is not None) == answer


async def test_whisper_webhooks_need_twilio_and_a_transfer_of_ours(tmp_path: Path) -> None:
    async with (
        running_fakes() as fakes,
        running_server(cloud_settings(fakes, tmp_path)) as server,
        httpx.AsyncClient(timeout=30) as client,
    ):
        sid, whisper = await offer(fakes, server, 2)
        form = {"AccountSid": ACCOUNT_SID, "CallSid": "CA" + "9" * 32, "ParentCallSid": sid}
        assert (await client.post(whisper, data=form)).status_code == 403
        signer = server.state.signatures
        assert signer is not None
        other = {**form, "ParentCallSid": "CA" + "8" * 32}  # another call's leg
        headers = {"X-Twilio-Signature": signer.sign(whisper, other)}
        assert (await client.post(whisper, data=other, headers=headers)).status_code == 400
        unknown = whisper.replace("escalation=", "escalation=9")
        headers = {"X-Twilio-Signature": signer.sign(unknown, form)}
        answer = await client.post(unknown, data=form, headers=headers)
        assert answer.status_code == 200 and "<Hangup" in answer.text  # never connected


def test_outcome_reads_only_this_transfers_actions() -> None:
    def action(kind: str, escalation: int, **more: object) -> ActionRecord:
        detail = {"escalation_id": escalation, **more}
        return ActionRecord(id=0, call_id=1, kind=kind, detail=detail, created_at=None)  # type: ignore[arg-type]

    actions = [
        action("transfer_answered", 1, answer_secs=4.0),
        action("transfer_accepted", 1),
        action("transfer_answered", 2, answer_secs=9.5),
    ]
    assert transfer_outcome(actions, 1) == {
        "escalation_id": 1,
        "outcome": "accepted",
        "answer_secs": 4.0,
    }
    assert transfer_outcome(actions, 2)["outcome"] == "declined"
    assert transfer_outcome(actions, 3) == {
        "escalation_id": 3,
        "outcome": "no_answer",
        "answer_secs": None,
    }
