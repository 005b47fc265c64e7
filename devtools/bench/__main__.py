"""`python -m bench`: the voice-to-voice benchmark (see bench/voice_to_voice.py)."""

from devtools.bench.voice_to_voice import main

main()
