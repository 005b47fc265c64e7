"""ctypes binding to the libespeak-ng shipped by `espeakng_loader`: text -> 16-bit mono PCM."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from dataclasses import dataclass

import espeakng_loader

# espeak_AUDIO_OUTPUT and flags from speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_ENDPAUSE = 0x1000
_POS_CHARACTER = 1
# espeak_PARAMETER values.
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
_EE_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakError(RuntimeError):
    """Raised when libespeak-ng refuses a call (bad voice, failed init)."""


@dataclass
class _Engine:
    """The process-wide espeak handle: the C library keeps global state, so one per process."""

    lib: ctypes.CDLL
    sample_rate: int
    callback: object  # keeps the C callback alive as long as the library may call it
    chunks: list[bytes]


# espeak-ng has global state and is not thread-safe: every call goes through this lock.
_LOCK = threading.Lock()
_ENGINE: _Engine | None = None


def _engine() -> _Engine:
    """Load and initialise libespeak-ng once (caller holds _LOCK)."""
    global _ENGINE
    if _ENGINE is not None:
        return _ENGINE
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_Synchronize.argtypes = []
    lib.espeak_Synchronize.restype = ctypes.c_int

    data_dir = espeakng_loader.get_data_path()
    # espeak wants the directory that *contains* espeak-ng-data.
    parent = data_dir.rsplit("/espeak-ng-data", 1)[0].encode()
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, parent, 0)
    if rate <= 0:
        raise EspeakError(f"espeak_Initialize failed ({rate}) with data at {data_dir}")

    chunks: list[bytes] = []

    def on_audio(wav: ctypes._Pointer, numsamples: int, _events: int) -> int:  # type: ignore[type-arg]
        if wav and numsamples > 0:
            chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 0

    callback = _SynthCallback(on_audio)
    lib.espeak_SetSynthCallback(callback)
    _ENGINE = _Engine(lib=lib, sample_rate=rate, callback=callback, chunks=chunks)
    return _ENGINE


def sample_rate() -> int:
    """Native output rate of libespeak-ng (22050 Hz for the shipped voices)."""
    with _LOCK:
        return _engine().sample_rate


def synthesize(
    text: str, *, voice: str = "en-us", rate_wpm: int = 165, pitch: int = 50
) -> tuple[bytes, int]:
    """Speak `text` and return (16-bit LE mono PCM, sample rate).

    Blocking and CPU-bound; serialised by a process-wide lock because libespeak-ng is not
    thread-safe. Use `synthesize_async` from the event loop.
    """
    if not text.strip():
        with _LOCK:
            return b"", _engine().sample_rate
    with _LOCK:
        eng = _engine()
        lib = eng.lib
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise EspeakError(f"unknown eSpeak voice {voice!r}")
        lib.espeak_SetParameter(_PARAM_RATE, int(rate_wpm), 0)
        lib.espeak_SetParameter(_PARAM_PITCH, max(0, min(99, int(pitch))), 0)
        lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        eng.chunks.clear()
        err = lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
        if err != _EE_OK:
            raise EspeakError(f"espeak_Synth failed ({err})")
        lib.espeak_Synchronize()
        pcm = b"".join(eng.chunks)
        eng.chunks.clear()
        return pcm, eng.sample_rate


async def synthesize_async(
    text: str, *, voice: str = "en-us", rate_wpm: int = 165, pitch: int = 50
) -> tuple[bytes, int]:
    """`synthesize` in a worker thread so the event loop keeps serving other calls."""
    return await asyncio.to_thread(synthesize, text, voice=voice, rate_wpm=rate_wpm, pitch=pitch)
