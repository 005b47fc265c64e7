"""Local engines for demo mode: eSpeak TTS, pocketsphinx STT and a deterministic demo brain."""
