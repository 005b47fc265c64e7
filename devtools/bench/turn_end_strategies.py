"""The user-turn stop strategies the end-of-turn benchmark compares, built as bot.py builds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.turns.user_stop.turn_analyzer_user_turn_stop_strategy import (
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

SHIPPED = "speech-timeout 0 s (shipped)"


@dataclass(frozen=True)
class StrategySpec:
    """A named way to end user turns: the VAD stop time and a fresh strategies object per call."""

    name: str
    vad_stop_secs: float
    build: Callable[[], UserTurnStrategies]


def _speech_timeout(pause: float) -> Callable[[], UserTurnStrategies]:
    """What bot.py builds with SMART_TURN=false and TURN_PAUSE_SECS=pause."""
    return lambda: UserTurnStrategies(
        stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=pause)]
    )


def _smart_turn(stop_secs: float | None) -> Callable[[], UserTurnStrategies]:
    """Smart-turn v3.2 (the wheel's ONNX model); `None` keeps Pipecat's defaults (bot.py's)."""
    if stop_secs is None:
        return UserTurnStrategies  # Pipecat's default stop strategy is smart-turn v3.2
    return lambda: UserTurnStrategies(
        stop=[
            TurnAnalyzerUserTurnStopStrategy(
                turn_analyzer=LocalSmartTurnAnalyzerV3(params=SmartTurnParams(stop_secs=stop_secs))
            )
        ]
    )


STRATEGIES: list[StrategySpec] = [
    StrategySpec(SHIPPED, 0.2, _speech_timeout(0.0)),
    StrategySpec("speech-timeout 0.3 s", 0.2, _speech_timeout(0.3)),
    StrategySpec("speech-timeout 0.5 s", 0.2, _speech_timeout(0.5)),
    StrategySpec("smart-turn v3.2 (stop 3 s, default)", 0.2, _smart_turn(None)),
    StrategySpec("smart-turn v3.2 (stop 1 s)", 0.2, _smart_turn(1.0)),
]

# EagerUserTurnStopStrategy cannot run here: it acts on EagerTranscriptionFrame /
# EagerEndOfTurnCancelFrame, which only a service with its own end-of-turn model emits
# (in Pipecat 1.14: DeepgramFluxSTTService, the /v2/listen Flux model). The turn end is then
# Deepgram's server-side decision, which no local fake can reproduce.
NOT_RUNNABLE = {
    "eager (EagerUserTurnStrategies)": "needs Deepgram Flux (server-side turn model); not "
    "measurable offline",
}


def by_names(names: list[str] | None) -> list[StrategySpec]:
    """The specs whose name starts with any of `names` (all when None)."""
    if not names:
        return list(STRATEGIES)
    picked = [s for s in STRATEGIES if any(s.name.startswith(n) for n in names)]
    if not picked:
        raise ValueError(f"no strategy matches {names}; known: {[s.name for s in STRATEGIES]}")
    return picked
