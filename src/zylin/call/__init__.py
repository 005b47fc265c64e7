"""One streamed call: its context, engines, session, faults and record."""
