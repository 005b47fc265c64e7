"""Run all three fakes in one process: `python -m devtools.fakes --deepgram-port 18001 ...`."""

from __future__ import annotations

import argparse

from devtools.fakes._base import run_forever
from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.openai_server import OpenAIFake
from devtools.fakes.twilio_rest_server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioRestFake,
)


def main(argv: list[str] | None = None) -> None:
    """Parse ports and credentials, then serve until interrupted (benchmarks, manual runs)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--deepgram-port", type=int, default=18001)
    parser.add_argument("--openai-port", type=int, default=18002)
    parser.add_argument("--twilio-port", type=int, default=18003)
    parser.add_argument("--deepgram-key", default="test-deepgram-key")
    parser.add_argument("--openai-key", default="test-openai-key")
    parser.add_argument("--twilio-account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--twilio-auth-token", default=DEFAULT_AUTH_TOKEN)
    parser.add_argument("--default-transcript", default="hello")
    parser.add_argument("--silence-final-ms", type=int, default=None)
    parser.add_argument("--reply", default="Sure, how can I help you today?")
    parser.add_argument("--token-interval", type=float, default=0.0)
    args = parser.parse_args(argv)
    run_forever(
        DeepgramFake(
            api_key=args.deepgram_key,
            host=args.host,
            port=args.deepgram_port,
            default_transcript=args.default_transcript,
            silence_final_ms=args.silence_final_ms,
        ),
        OpenAIFake(
            api_key=args.openai_key,
            host=args.host,
            port=args.openai_port,
            default_reply=args.reply,
            token_interval=args.token_interval,
        ),
        TwilioRestFake(
            account_sid=args.twilio_account_sid,
            auth_token=args.twilio_auth_token,
            host=args.host,
            port=args.twilio_port,
        ),
    )


if __name__ == "__main__":
    main()
