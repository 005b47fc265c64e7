"""The call's one observer hands each frame's first push to every observer, minus the caller's
audio, and sets its observers up and down with it."""

import asyncio

from pipecat.frames.frames import InputAudioRawFrame, TTSSpeakFrame
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.utils.asyncio.task_manager import TaskManager

from zylin.call.record.fan_out import FanOutObserver


class Seen(BaseObserver):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[object] = []
        self.events: list[str] = []

    async def setup(self, task_manager) -> None:
        await super().setup(task_manager)
        self.events.append("setup")

    async def cleanup(self) -> None:
        await super().cleanup()
        self.events.append("cleanup")

    async def on_pipeline_started(self) -> None:
        self.events.append("started")

    async def on_push_frame(self, data: FramePushed) -> None:
        self.frames.append(data.frame)


def _pushed(frame) -> FramePushed:
    return FramePushed(
        source=FrameProcessor(),
        destination=FrameProcessor(),
        frame=frame,
        direction=FrameDirection.DOWNSTREAM,
        timestamp=0,
    )


def test_every_observer_sees_frames_but_not_the_callers_audio() -> None:
    async def run() -> tuple[Seen, Seen]:
        first, second = Seen(), Seen()
        fan = FanOutObserver([first, second])
        manager = TaskManager(loop=asyncio.get_running_loop())
        await fan.setup(manager)
        await fan.on_pipeline_started()
        said = TTSSpeakFrame("hello")
        await fan.on_push_frame(_pushed(InputAudioRawFrame(b"\0" * 320, 16000, 1)))
        await fan.on_push_frame(_pushed(said))
        await fan.cleanup()
        assert first.frames == second.frames == [said]
        return first, second

    first, second = asyncio.run(run())
    assert first.events == second.events == ["setup", "started", "cleanup"]
    assert not FanOutObserver([first]).observe_every_push  # Pipecat sends first pushes only
