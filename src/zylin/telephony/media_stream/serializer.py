"""Pipecat's Twilio serializer, hardened against bad input and taught `mark` and `stop`."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable

from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.audio.resamplers.soxr_stream_resampler import SOXRStreamAudioResampler
from pipecat.audio.utils import ulaw_to_pcm
from pipecat.frames.frames import CancelWorkerFrame, Frame, InputAudioRawFrame, InputDTMFFrame
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.serializers.twilio import TwilioFrameSerializer

from zylin.telephony.media_stream.audio_chunks import AudioChunker
from zylin.telephony.media_stream.frames import TwilioMarkFrame, TwilioStopFrame

# Twilio sends 20 ms (160 bytes) per message; allow generous slack, refuse floods.
MAX_MEDIA_PAYLOAD_BYTES = 8000
MAX_MESSAGE_CHARS = 64 * 1024
# Twilio sends ~50 messages a second (media) plus marks and keys. A sustained rate above
# MAX_MESSAGES_PER_SEC, beyond a burst of MAX_MESSAGE_BURST (10 s of audio arriving at once
# after a network stall), is a flood: the call is ended instead of burning CPU on it.
MAX_MESSAGES_PER_SEC = 200.0
MAX_MESSAGE_BURST = 500.0
FLOOD_REASON = "stream_flood"


class ZylinTwilioSerializer(TwilioFrameSerializer):
    """Never raises on what a socket sends: a bad message is counted, logged once, dropped.

    A flood (more messages per second than Twilio ever sends) ends the call with one log line.

    An exception escaping `deserialize` would end the transport's receive loop and with it the
    call, so every path here returns a frame or None. `mark` and `stop` become frames our
    processors use; REST hang-up is skipped when `should_hang_up()` says the call moved on
    (transferred, or the caller already hung up).

    The caller's audio (upsampled at once, message by message, if the pipeline's rate is not
    the line's; see `__init__`) goes into the pipeline in chunks of `audio_chunk_ms`
    (AUDIO_IN_CHUNK_MS): the held messages become no frame at all, so they cost no queue hop
    anywhere. A `dtmf` or `mark` may so overtake up to one chunk of earlier audio; nothing that
    reads them times them that finely. The audio resamplers keep their history however long
    the gap between two messages, unless `params` says otherwise.
    Twilio streams without pause (silence included), so a gap is a late delivery, never a new
    stream; Pipecat's default (clear after 0.2 s) dropped samples at every such stall, and a
    busy server then missed short replies ("yes please") in the VAD.
    """

    def __init__(
        self,
        *args,
        should_hang_up: Callable[[], bool] | None = None,
        on_flood: Callable[[], None] | None = None,
        max_rate: float = MAX_MESSAGES_PER_SEC,
        burst: float = MAX_MESSAGE_BURST,
        clock: Callable[[], float] = time.monotonic,
        params: TwilioFrameSerializer.InputParams | None = None,
        audio_chunk_ms: int | None = None,
        **kwargs,
    ) -> None:
        params = params or self.InputParams()
        if "resampler_clear_after_secs" not in params.model_fields_set:
            params = params.model_copy(update={"resampler_clear_after_secs": None})
        super().__init__(*args, params=params, **kwargs)
        # Pipecat's stream resampler (soxr, very high quality) held the caller's 20 ms messages
        # back and let ~95 ms out at a time, 22-97 ms late (60 ms on average, measured), so
        # the VAD and Deepgram heard the caller stop that much later. Quick quality passes each
        # message on at once, at the price of images above 4 kHz (-6 dB for a 3.4 kHz tone);
        # how much goes into the pipeline at a time is `audio_chunk_ms`.
        self._input_resampler = SOXRStreamAudioResampler(
            quality="QQ", clear_after_secs=params.resampler_clear_after_secs
        )
        self._should_hang_up = should_hang_up or (lambda: True)
        self._on_flood = on_flood
        self._max_rate = max_rate
        self._burst = burst
        self._clock = clock
        self._allowance = burst
        self._last_message_at: float | None = None
        self._audio_chunk_ms = audio_chunk_ms
        self._chunker = AudioChunker(0)
        self.rejected: dict[str, int] = {}
        self.stopped = False
        self.flooded = False

    async def setup(self, setup: FrameProcessorSetup) -> None:
        """Sizes the audio chunks for the pipeline's input rate (16-bit mono); without a
        chunk length, each message's audio goes on as it comes."""
        await super().setup(setup)
        if self._audio_chunk_ms is not None:
            self._chunker = AudioChunker(self._sample_rate * self._audio_chunk_ms // 1000 * 2)

    def _reject(self, why: str) -> None:
        count = self.rejected.get(why, 0) + 1
        self.rejected[why] = count
        if count == 1 or count % 500 == 0:
            logger.warning(f"Dropped a Twilio stream message ({why}), {count} so far")

    async def _hang_up_call(self) -> None:
        if not self.stopped and self._should_hang_up():
            await super()._hang_up_call()

    def _over_rate(self) -> bool:
        """Token bucket: `burst` messages at once, then at most `max_rate` a second."""
        now = self._clock()
        if self._last_message_at is not None:
            elapsed = max(0.0, now - self._last_message_at)
            self._allowance = min(self._burst, self._allowance + elapsed * self._max_rate)
        self._last_message_at = now
        self._allowance -= 1.0
        return self._allowance < 0.0

    def _flood_frame(self) -> Frame:
        """End the call at once: nobody is listening to a flood, so no goodbye waits for it.

        The cancel still hangs the call up over REST and closes the socket normally.
        """
        self.flooded = True
        logger.warning(
            f"Twilio stream sent over {self._max_rate:.0f} messages/s (burst "
            f"{self._burst:.0f}): ending the call"
        )
        if self._on_flood is not None:
            self._on_flood()
        return CancelWorkerFrame(reason=FLOOD_REASON)

    async def deserialize(self, data: str | bytes) -> Frame | None:
        """Turn one Twilio message into a frame, or None (dropped, with a reason counted)."""
        if self.flooded:
            return None  # the call is ending: drop the rest unread, without a log line each
        if self._over_rate():
            return self._flood_frame()
        if isinstance(data, (bytes, bytearray)):
            self._reject("binary frame")
            return None
        if len(data) > MAX_MESSAGE_CHARS:
            self._reject("oversized message")
            return None
        try:
            message = json.loads(data)
        except (json.JSONDecodeError, RecursionError):
            self._reject("not JSON")
            return None
        if not isinstance(message, dict):
            self._reject("not a JSON object")
            return None
        event = message.get("event")
        try:
            if event == "media":
                return await self._media(message)
            if event == "dtmf":
                return self._dtmf(message)
            if event == "mark":
                mark = message.get("mark")
                name = mark.get("name") if isinstance(mark, dict) else None
                if not isinstance(name, str):
                    self._reject("mark without a name")
                    return None
                return TwilioMarkFrame(mark_name=name)
            if event == "stop":
                self.stopped = True
                return TwilioStopFrame()
            if event in ("connected", "start"):
                self._reject(f"repeated {event}")
                return None
        except Exception as exc:  # a malformed message must never end the call
            self._reject(f"malformed {event}: {type(exc).__name__}")
            return None
        self._reject("unknown event")
        return None

    async def _media(self, message: dict) -> Frame | None:
        media = message.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str) or not payload:
            self._reject("media without payload")
            return None
        if len(payload) > MAX_MEDIA_PAYLOAD_BYTES * 4 // 3 + 4:
            self._reject("oversized media payload")
            return None
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            self._reject("invalid base64")
            return None
        pcm = self._chunker.add(
            await ulaw_to_pcm(
                audio, self._twilio_sample_rate, self._sample_rate, self._input_resampler
            )
        )
        if not pcm:
            return None
        return InputAudioRawFrame(audio=pcm, num_channels=1, sample_rate=self._sample_rate)

    def _dtmf(self, message: dict) -> Frame | None:
        dtmf = message.get("dtmf")
        digit = dtmf.get("digit") if isinstance(dtmf, dict) else None
        try:
            return InputDTMFFrame(KeypadEntry(digit))
        except ValueError:
            self._reject("unknown DTMF digit")
            return None
