"""Local protocol servers (Deepgram, OpenAI, Twilio REST) the real SDK clients talk to."""
