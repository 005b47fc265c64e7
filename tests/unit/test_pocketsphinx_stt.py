"""pocketsphinx STT and the business language model on eSpeak speech sent over a phone line."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pipecat.audio.utils import create_file_resampler, pcm_to_ulaw, ulaw_to_pcm
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import run_test

from tests.profile_data import ISSUE_PROFILE
from zylin.business.profile import BusinessProfile
from zylin.local.espeak import synthesize
from zylin.local.heard import HeardFrame
from zylin.local.language_model import (
    LanguageModelFiles,
    business_sentences,
    normalize,
    read_dictionary_words,
    write_language_model,
)
from zylin.local.pocketsphinx_decoder import DECODER_SAMPLE_RATE, decode, make_decoder, recognize
from zylin.local.pocketsphinx_stt import PocketsphinxSTTService
from zylin.local.spoken import money_words, number_words, ordinal_words, time_words

PROFILE = {
    **ISSUE_PROFILE,
    "services": [
        *ISSUE_PROFILE["services"],
        {"name": "Zyxqorp Polish", "minutes": 20, "price": "$40"},  # words no dictionary has
    ],
}
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PHONE_RATE = 8000


@pytest.fixture(scope="module")
def profile() -> BusinessProfile:
    return BusinessProfile.model_validate(PROFILE)


@pytest.fixture(scope="module")
def lm(profile: BusinessProfile, tmp_path_factory: pytest.TempPathFactory) -> LanguageModelFiles:
    return write_language_model(profile, tmp_path_factory.mktemp("lm"), now=NOW)


async def phone_audio(text: str, voice: str = "en-us", rate_wpm: int = 160) -> bytes:
    """eSpeak speech as a caller's phone delivers it: 8 kHz mu-law, decoded back to PCM."""
    pcm, rate = synthesize(text, voice=voice, rate_wpm=rate_wpm)
    resampler = create_file_resampler()
    ulaw = await pcm_to_ulaw(pcm, rate, PHONE_RATE, resampler)
    line = await ulaw_to_pcm(ulaw, PHONE_RATE, PHONE_RATE, resampler)
    silence = bytes(int(0.3 * PHONE_RATE) * 2)
    return silence + line + silence


def test_language_model_covers_the_profile_and_skips_unknown_words(
    lm: LanguageModelFiles,
) -> None:
    for word in ("cleaning", "checkup", "whitening", "monday", "thirty", "a.m.", "cancel"):
        assert word in lm.vocabulary
    assert "zyxqorp" in lm.dropped_words
    assert "polish" in lm.vocabulary
    arpa = lm.lm_path.read_text()
    assert "</s>" in arpa and "<s>" in arpa
    dict_words = {line.split()[0].split("(")[0] for line in lm.dict_path.read_text().splitlines()}
    assert lm.vocabulary <= dict_words


def test_business_sentences_fill_templates_from_the_profile(profile: BusinessProfile) -> None:
    sentences = business_sentences(
        profile, corpus_text="book a {service} on {day} at {time}\n", today=NOW.date()
    )
    joined = " ".join(sentences)
    assert "whitening" in joined and "friday" in joined and "{" not in joined
    assert normalize("A cleaning at 10:30 for $90") == [
        "a",
        "cleaning",
        "at",
        "ten",
        "thirty",
        "for",
        "ninety",
        "dollars",
    ]


async def test_decodes_a_phone_line_booking_request(lm: LanguageModelFiles) -> None:
    stt = PocketsphinxSTTService(lm_path=lm.lm_path, dict_path=lm.dict_path, in_process=True)
    audio = await phone_audio("I would like to book a cleaning on Monday")
    text = await stt.transcribe(audio, PHONE_RATE)
    words = set(text.split())
    assert {"book", "cleaning", "monday"} <= words, text


async def test_arpa_text_is_accepted_in_place_of_a_file(lm: LanguageModelFiles) -> None:
    stt = PocketsphinxSTTService(
        arpa_text=lm.lm_path.read_text(), dict_path=lm.dict_path, in_process=True
    )
    text = await stt.transcribe(await phone_audio("what are your hours on friday"), PHONE_RATE)
    assert "friday" in text.split(), text


async def test_service_turns_a_vad_segment_into_a_transcription(lm: LanguageModelFiles) -> None:
    stt = PocketsphinxSTTService(lm_path=lm.lm_path, dict_path=lm.dict_path)
    audio = await phone_audio("can I speak to the owner")
    chunk = PHONE_RATE // 50 * 2  # 20 ms, as the Twilio transport delivers it
    frames: list[Frame] = [VADUserStartedSpeakingFrame()]
    frames += [
        InputAudioRawFrame(audio=audio[i : i + chunk], sample_rate=PHONE_RATE, num_channels=1)
        for i in range(0, len(audio), chunk)
    ]
    frames.append(VADUserStoppedSpeakingFrame())
    down, _ = await run_test(
        stt,
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=PHONE_RATE),
    )
    transcripts = [f for f in down if isinstance(f, TranscriptionFrame)]
    assert len(transcripts) == 1
    assert transcripts[0].finalized
    # The confidence goes just before the transcript, for the demo brain past the aggregator.
    heard = [f for f in down if isinstance(f, HeardFrame)]
    assert len(heard) == 1 and down.index(heard[0]) < down.index(transcripts[0])
    assert heard[0].heard.text == transcripts[0].text
    assert heard[0].heard.confidence is not None and 0 <= heard[0].heard.confidence <= 1
    # What pocketsphinx makes of eSpeak audio is the bench's business (stt_accuracy), not a
    # test's: the words vary with how the segment was chunked and resampled.
    assert transcripts[0].text.strip()


@pytest.mark.timing
async def test_decoding_in_the_worker_process_keeps_the_event_loop_responsive() -> None:
    stt = PocketsphinxSTTService()  # the general model: about a second of decoding
    audio = await phone_audio("I would like to book a cleaning on Monday at ten thirty")
    try:
        await stt.transcribe(b"", DECODER_SAMPLE_RATE)  # spawn the worker and load the model
        lags: list[float] = []
        done = asyncio.Event()

        async def tick() -> None:
            while not done.is_set():
                start = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - start - 0.01)

        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        text = await stt.transcribe(audio, PHONE_RATE)
        decode_secs = time.perf_counter() - started
        done.set()
        await ticker
    finally:
        stt.close()
    assert text
    assert decode_secs > 0.1
    # Decoding in this process would stall the loop for the whole decode; in the worker it
    # only waits for the scheduler (generous: CI runs on a busy 2-core machine).
    assert max(lags) < max(0.25, decode_secs / 2), f"event loop stalled {max(lags):.3f} s"


def test_missing_model_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PocketsphinxSTTService(lm_path=tmp_path / "nope.lm")


async def test_make_decoder_is_set_up_from_the_business_model(lm: LanguageModelFiles) -> None:
    decoder = make_decoder(lm.lm_path, lm.dict_path)
    assert decoder.config["dict"] == str(lm.dict_path)
    assert decoder.config["samprate"] == DECODER_SAMPLE_RATE
    audio = await phone_audio("I would like to book a cleaning on Monday")
    pcm16k = await create_file_resampler().resample(audio, PHONE_RATE, DECODER_SAMPLE_RATE)
    assert {"book", "cleaning", "monday"} <= set(decode(decoder, pcm16k).split())
    # With an expectation, the n-best list comes along and the text is one of its entries.
    heard = recognize(decoder, pcm16k, expect="time")
    assert heard.alternatives and heard.text in heard.alternatives
    assert heard.confidence is not None and 0 <= heard.confidence <= 1


def test_spoken_numbers_are_words_the_language_model_and_dictionary_know(
    lm: LanguageModelFiles,
) -> None:
    # The brain says prices and times with num2words; the model must spell them alike.
    expected = "one hundred five dollars at two thirty"
    assert normalize("$105 at 2:30") == expected.split()
    assert money_words("$105") == "one hundred five dollars"
    dictionary = read_dictionary_words()
    said = [number_words(n) for n in range(1000)] + [ordinal_words(d) for d in range(1, 32)]
    said += [time_words(h, m) for h in range(24) for m in range(60)]
    assert {w for line in said for w in line.split()} <= dictionary | {"a.m.", "p.m."}
    assert {"thirty", "forty", "five", "a.m.", "p.m."} <= lm.vocabulary
