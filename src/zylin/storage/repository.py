"""The data access API for tools, the server and the owner's API; returns plain dataclasses.

`Repository` is the one object callers hold; its methods live in one store per aggregate
(`calls`, `appointments`, `messages`, `escalations`, `stream_tokens`) and the records it
returns in `records`. Everything is re-exported here so callers import from one place.
"""

from __future__ import annotations

from zylin.storage.appointments import BOOKED, CANCELLED, AppointmentStore, SlotTaken
from zylin.storage.calls import CallStore
from zylin.storage.escalations import EscalationStore
from zylin.storage.measures import MeasureStore
from zylin.storage.messages import MessageStore
from zylin.storage.owner_actions import OwnerActionStore
from zylin.storage.records import (
    ActionRecord,
    AppointmentRecord,
    CallDetail,
    CallFacts,
    CallRecord,
    EscalationRecord,
    MessageRecord,
    OwnerActionRecord,
    Page,
    TurnRecord,
    TurnStats,
)
from zylin.storage.stream_tokens import StreamTokenStore

__all__ = [
    "BOOKED",
    "CANCELLED",
    "ActionRecord",
    "AppointmentRecord",
    "CallDetail",
    "CallFacts",
    "CallRecord",
    "EscalationRecord",
    "MessageRecord",
    "OwnerActionRecord",
    "Page",
    "Repository",
    "SlotTaken",
    "TurnRecord",
    "TurnStats",
]


class Repository(
    CallStore,
    AppointmentStore,
    MessageStore,
    EscalationStore,
    StreamTokenStore,
    MeasureStore,
    OwnerActionStore,
):
    """Async access to Zylin's tables, shared by every call in a server process.

    Each method is one short transaction. Writes that read first run as BEGIN IMMEDIATE on
    SQLite (see `storage.db.create_engine`), so concurrent processes queue instead of failing.

    The stores are mixins over one `Store` (sessions and clock) rather than members this
    class forwards to: every method keeps its exact name, signature and docstring with no
    forwarding layer to keep in step, and one object still shares one session factory.

    Args:
        sessions: from `storage.db.session_factory(engine)`.
        clock: the time for `created_at`/`updated_at`/`used_at` stamps (injected in tests).
    """
