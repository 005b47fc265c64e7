"""The record of each call: transcript and latency as the call goes, intent and summary after."""
