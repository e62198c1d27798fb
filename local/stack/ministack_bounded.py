"""Starts MiniStack (the local SQS, EventBridge and SES) with its two ever-growing in-memory logs capped.

MiniStack keeps every sent email (for GET /_ministack/ses/messages) and every event put on a bus in lists that
only grow, so a long local run would use ever more memory. This launcher, started by local/stack/emulators.ts,
replaces the two list accessors of the pinned MiniStack (local/requirements.txt) with ones returning a list
that drops its oldest entries beyond ORDERFLOW_EMULATOR_LOG_CAP (default 10000), then runs MiniStack as
`python -m ministack` would. local/stack/ministack.int.test.ts checks the cap on the running emulator.
"""

import os
import sys

CAP = max(1, int(os.environ.get("ORDERFLOW_EMULATOR_LOG_CAP", "10000")))


class BoundedLog(list):
    """A list that keeps only its newest CAP entries; trims in steps of a tenth, so appends stay O(1) amortized."""

    def append(self, item):
        super().append(item)
        if len(self) > CAP + max(1, CAP // 10):
            del self[: len(self) - CAP]


def bounded_accessor(store, key):
    def entries():
        current = store.get(key)
        if not isinstance(current, BoundedLog):
            current = BoundedLog(current or [])
            if len(current) > CAP:
                del current[: len(current) - CAP]
            store[key] = current
        return current

    return entries


from ministack.services import eventbridge, ses  # noqa: E402

for module, accessor, store in (
    (ses, "_sent_emails_list", "_sent_emails"),
    (eventbridge, "_events_log_list", "_events_log"),
):
    if not hasattr(module, accessor) or not hasattr(module, store):
        sys.exit(f"ministack_bounded: {module.__name__}.{accessor} is gone; update the launcher for this MiniStack")
    setattr(module, accessor, bounded_accessor(getattr(module, store), "entries"))

# Durable sends. MiniStack writes its state only on SIGTERM, so a SIGKILL (the fault suite, a crash) lost every
# queued message: events accepted by PutEvents but not yet delivered to a rule target vanished, and so did their
# emails. EventBridge and SQS keep what they acknowledged; so does the local stand-in now: a PutEvents or
# SendMessage is answered only once the SQS state holding its messages is on disk. Saves are group commits (one
# for every request waiting, at most every 20 ms, or twice the last save's time under load), so a busy run pays
# a bounded share of the loop for them. Deletes and visibility changes are saved with the next commit: after a
# crash a delivered event may come once more, which the targets' idempotency absorbs.
import asyncio  # noqa: E402

import ministack.app as ministack_app  # noqa: E402
from ministack.core.persistence import PERSIST_STATE, save_state  # noqa: E402

DURABLE_TARGETS = {
    b"AWSEvents.PutEvents",
    b"AmazonSQS.SendMessage",
    b"AmazonSQS.SendMessageBatch",
}
_inner_app = ministack_app.app
_waiting = []
_commit_scheduled = False
_last_save_seconds = 0.0


async def _group_commit():
    global _commit_scheduled, _last_save_seconds
    await asyncio.sleep(max(0.02, 2 * _last_save_seconds))
    waiters = _waiting[:]
    del _waiting[:]
    _commit_scheduled = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        sqs = sys.modules.get("ministack.services.sqs")
        if sqs is not None and hasattr(sqs, "get_state"):
            save_state("sqs", sqs.get_state())
    finally:
        _last_save_seconds = loop.time() - started
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def _persisted():
    global _commit_scheduled
    waiter = asyncio.get_running_loop().create_future()
    _waiting.append(waiter)
    if not _commit_scheduled:
        _commit_scheduled = True
        asyncio.get_running_loop().create_task(_group_commit())
    await waiter


async def durable_app(scope, receive, send):
    if not PERSIST_STATE or scope.get("type") != "http" or scope.get("method") != "POST":
        return await _inner_app(scope, receive, send)
    target = dict(scope.get("headers") or []).get(b"x-amz-target", b"")
    if target not in DURABLE_TARGETS:
        return await _inner_app(scope, receive, send)

    async def send_when_saved(message):
        if message.get("type") == "http.response.start":
            await _persisted()
        await send(message)

    return await _inner_app(scope, receive, send_when_saved)


ministack_app.app = durable_app

from ministack.app import main  # noqa: E402

main()
