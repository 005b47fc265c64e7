"""FaultRules alone, with an injected clock: what each failure makes the call do."""

from pipecat.frames.frames import ErrorFrame
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.utils.errors import ErrorCategory

from zylin.call.fault_rules import FaultRules, Reaction, Service
from zylin.call.faults import is_follow_up, is_permanent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def error(service: Service, rules: FaultRules, *, permanent: bool = False) -> Reaction:
    return rules.on_error(service, permanent=permanent, follow_up=False)


def test_the_tts_gets_one_holding_line_then_the_call_falls_back() -> None:
    rules = FaultRules()
    assert error(Service.TTS, rules) == Reaction.HOLD
    assert error(Service.TTS, rules) == Reaction.FALL_BACK


def test_a_spoken_reply_makes_the_next_tts_failure_a_first_one() -> None:
    rules = FaultRules()
    assert error(Service.TTS, rules) == Reaction.HOLD
    rules.recovered(Service.TTS)
    assert error(Service.TTS, rules) == Reaction.HOLD


def test_llm_errors_wait_for_the_empty_reply_which_retries_once() -> None:
    rules = FaultRules()
    assert error(Service.LLM, rules) == Reaction.WAIT
    assert rules.on_empty_reply() == Reaction.HOLD_AND_RETRY
    assert rules.on_empty_reply() == Reaction.FALL_BACK
    rules.recovered(Service.LLM)
    assert rules.on_empty_reply() == Reaction.HOLD_AND_RETRY


def test_stt_errors_fall_back_only_when_they_bunch_up() -> None:
    clock = Clock()
    rules = FaultRules(stt_errors=3, stt_window_secs=60, clock=clock)
    assert error(Service.STT, rules) == Reaction.WAIT  # Deepgram reconnects by itself
    clock.now += 50
    assert error(Service.STT, rules) == Reaction.WAIT
    clock.now += 50  # the first has left the window
    assert error(Service.STT, rules) == Reaction.WAIT
    assert rules.errors_in_a_row(Service.STT) == 2
    clock.now += 5
    assert error(Service.STT, rules) == Reaction.FALL_BACK


def test_a_permanent_failure_falls_back_at_once_and_a_follow_up_is_ignored() -> None:
    for service in Service:
        assert error(service, FaultRules(), permanent=True) == Reaction.FALL_BACK
        assert FaultRules().on_error(service, permanent=True, follow_up=True) == Reaction.IGNORE


def test_pipecat_error_frames_are_read_for_permanence_and_follow_ups() -> None:
    processor = FrameProcessor()
    transient = ErrorFrame(error="Error getting audio (status: 500)", processor=processor)
    assert not is_permanent(transient) and not is_follow_up(transient)
    auth = ErrorFrame(error="bad key", category=ErrorCategory.AUTHENTICATION)
    assert is_permanent(auth)
    silent = ErrorFrame(error="TTS context abc completed with no audio", processor=processor)
    assert is_follow_up(silent)
    repeated = ErrorFrame(error="3 consecutive TTS contexts completed with no audio")
    assert not is_follow_up(repeated)
