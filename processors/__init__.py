"""Zylin's own Pipecat FrameProcessors: playback marks, call guard, keypad."""
