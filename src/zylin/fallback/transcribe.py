"""Transcribe a whole recording: Deepgram's pre-recorded API, or local pocketsphinx (demo)."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core.api_error import ApiError

from zylin.business import BusinessProfile
from zylin.fallback.audio import decode_wav, resample
from zylin.local.language_model import LanguageModelFiles, write_language_model
from zylin.local.pocketsphinx_decoder import decode, make_decoder

DEEPGRAM_API = "https://api.deepgram.com"
DECODER_RATE = 16000
PAD_SECS = 0.3


class TranscriptionError(RuntimeError):
    """Speech-to-text failed; the message says why (no secrets in it)."""


def deepgram_rest_base(base_url: str | None) -> str:
    """`DEEPGRAM_BASE_URL` as an HTTP base: the live API's wss://host is https://host here."""
    if not base_url:
        return DEEPGRAM_API
    parts = urlsplit(base_url if "://" in base_url else f"https://{base_url}")
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _environment(base_url: str | None) -> DeepgramClientEnvironment:
    """The SDK's endpoints with REST (`base`) on our Deepgram; only REST is used here."""
    live = DeepgramClientEnvironment.PRODUCTION
    return DeepgramClientEnvironment(
        base=deepgram_rest_base(base_url),
        production=live.production,
        agent=live.agent,
        agent_rest=live.agent_rest,
    )


async def deepgram_prerecorded(
    wav: bytes,
    *,
    api_key: str,
    base_url: str | None,
    model: str,
    timeout_secs: float = 8.0,
) -> str:
    """Text of a WAV recording from `POST /v1/listen` (Deepgram's pre-recorded REST API).

    One attempt, no SDK retries: the webhook must answer Twilio within its budget, and a
    failure still keeps the recording as a message.
    """
    try:
        async with httpx.AsyncClient(timeout=timeout_secs) as http:
            client = AsyncDeepgramClient(
                api_key=api_key,
                environment=_environment(base_url),
                httpx_client=http,
                timeout=timeout_secs,
            )
            response = await client.listen.v1.media.transcribe_file(
                request=wav,
                model=model,
                smart_format=True,
                punctuate=True,
                language="en-US",
                request_options={"max_retries": 0},
            )
    except ApiError as exc:
        raise TranscriptionError(f"Deepgram answered HTTP {exc.status_code}") from exc
    except httpx.HTTPError as exc:
        raise TranscriptionError(f"Deepgram request failed: {type(exc).__name__}") from exc
    results = getattr(response, "results", None)  # None: an "accepted" (callback) answer
    alternatives = results.channels[0].alternatives if results and results.channels else None
    if not alternatives or alternatives[0].transcript is None:
        raise TranscriptionError("Deepgram answered an unexpected body")
    return str(alternatives[0].transcript).strip()


def pocketsphinx_transcribe(pcm16k: bytes, model: LanguageModelFiles | None) -> str:
    """Decode 16 kHz 16-bit mono PCM in one utterance (blocking: run it in a thread).

    A decoder per recording: it loads in ~15 ms with the business's small dictionary, and
    pocketsphinx decoders must not be shared between threads.
    """
    decoder = make_decoder(model.lm_path, model.dict_path) if model else make_decoder()
    return decode(decoder, pcm16k)


class LocalTranscriber:
    """pocketsphinx with the business's own language model, built once on first use."""

    def __init__(self, profile: BusinessProfile, now: Callable[[], datetime]) -> None:
        self._profile = profile
        self._now = now
        self._model: LanguageModelFiles | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()

    def _language_model(self) -> LanguageModelFiles:
        with self._lock:
            if self._model is None:
                self._dir = tempfile.TemporaryDirectory(prefix="zylin-legacy-lm-")
                self._model = write_language_model(
                    self._profile, Path(self._dir.name), now=self._now()
                )
            return self._model

    def _decode(self, pcm16k: bytes) -> str:
        return pocketsphinx_transcribe(pcm16k, self._language_model())

    async def transcribe(self, wav: bytes) -> str:
        """Text of a WAV recording, decoded in a worker thread."""
        try:
            pcm, rate = decode_wav(wav)
            # Twilio trims the recording's silence; the decoder wants a little on each side.
            pad = bytes(int(PAD_SECS * DECODER_RATE) * 2)
            pcm16k = pad + await resample(pcm, rate, DECODER_RATE) + pad
            return await asyncio.to_thread(self._decode, pcm16k)
        except Exception as exc:
            raise TranscriptionError(f"pocketsphinx failed: {exc}") from exc
