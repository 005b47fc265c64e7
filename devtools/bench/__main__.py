"""`python -m devtools.bench [v2v | load | stt] ...`: voice-to-voice (default), load, or the
demo recognizer's word accuracy."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    """Dispatch on the first argument; anything else goes to the voice-to-voice benchmark."""
    if argv and argv[0] == "stt":
        import asyncio

        from devtools.bench.stt_accuracy import main as stt_main

        sys.argv = [sys.argv[0], *argv[1:]]
        asyncio.run(stt_main())
        return
    if argv and argv[0] == "load":
        from devtools.bench.load import main as load_main

        load_main(argv[1:])
        return
    from devtools.bench.voice_to_voice import main as v2v_main

    # voice_to_voice parses sys.argv itself: hand it the arguments without the subcommand.
    sys.argv = [sys.argv[0], *(argv[1:] if argv and argv[0] == "v2v" else argv)]
    v2v_main()


main(sys.argv[1:])
