"""One observer in front of the call's observers, so Pipecat queues each frame event once."""

from __future__ import annotations

from collections.abc import Sequence

from pipecat.frames.frames import InputAudioRawFrame
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.utils.asyncio.task_manager import BaseTaskManager


class FanOutObserver(BaseObserver):
    """Hands each first push to several observers from one queue and one task.

    Pipecat's `WorkerObserver` gives every observer its own queue and task, and queues to each
    of them every frame every processor handles: a 20 ms audio frame crossing ten processors
    cost each observer ten queue hops, on every call, fifty times a second. None of the call's
    observers needs a frame twice, nor the caller's audio, so those stop here.
    """

    def __init__(self, observers: Sequence[BaseObserver]) -> None:
        super().__init__(observe_every_push=False)
        self._observers = list(observers)

    async def setup(self, task_manager: BaseTaskManager) -> None:
        await super().setup(task_manager)
        for observer in self._observers:
            await observer.setup(task_manager)

    async def cleanup(self) -> None:
        await super().cleanup()
        for observer in self._observers:
            await observer.cleanup()

    async def on_pipeline_started(self) -> None:
        for observer in self._observers:
            await observer.on_pipeline_started()

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, InputAudioRawFrame):
            return
        for observer in self._observers:
            await observer.on_push_frame(data)
