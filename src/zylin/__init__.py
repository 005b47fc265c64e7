"""Zylin, an AI phone receptionist: the package behind `bot.py` and `server.py`."""
