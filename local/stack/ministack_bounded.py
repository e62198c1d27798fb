"""Starts MiniStack (the local SQS, EventBridge and SES) with its two ever-growing in-memory logs capped.

MiniStack keeps every sent email (for GET /_ministack/ses/messages) and every event put on a bus in lists that
only grow, so a long local run would use ever more memory. This launcher, started by local/stack/emulators.ts,
replaces the two list accessors of the pinned MiniStack (local/requirements.txt) with ones returning a list
that drops its oldest entries beyond ORDERFLOW_EMULATOR_LOG_CAP (default 10000), then runs MiniStack as
`python -m ministack` would. local/stack/emulators.int.test.ts checks the cap on the running emulator.

It also makes what MiniStack acknowledged survive a SIGKILL, as the AWS services it stands in for would: bus
events and queued messages (durable sends, below) and the sent-email log (a journal, below), which the audit and
the tests read as the recipients' mailbox.
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


from ministack.core.persistence import PERSIST_STATE, STATE_DIR, save_state  # noqa: E402
from ministack.services import eventbridge, ses  # noqa: E402

for module, accessor, store in (
    (ses, "_sent_emails_list", "_sent_emails"),
    (eventbridge, "_events_log_list", "_events_log"),
):
    if not hasattr(module, accessor) or not hasattr(module, store):
        sys.exit(f"ministack_bounded: {module.__name__}.{accessor} is gone; update the launcher for this MiniStack")
    setattr(module, accessor, bounded_accessor(getattr(module, store), "entries"))

# The sent-email journal. MiniStack never saves its sent-email log, not even on SIGTERM, so every restart emptied
# the mailbox, and a SIGKILL lost the emails of orders that were already final. Each email is appended to a
# journal (one JSON line: account, region, record) before SendEmail is answered; a write that returned is in the
# kernel, so it survives a SIGKILL of this process. At start the journal's newest CAP emails of each account and
# region are read back. The journal is rewritten from the logs once it holds twice CAP lines, and emptied when
# MiniStack's reset empties the log.
import json  # noqa: E402

JOURNAL = os.path.join(STATE_DIR, "ses-sent-emails.jsonl")
_journal = None
_journal_lines = 0
_sent_store = ses._sent_emails


def _journal_write(line):
    global _journal_lines
    _journal.write(line)
    _journal.flush()
    _journal_lines += 1


def _journal_line(scoped_key, record):
    return json.dumps([scoped_key[0], scoped_key[1], record], default=str) + "\n"


def _compact_journal():
    global _journal, _journal_lines
    if _journal is not None:
        _journal.close()
    lines = [_journal_line(key, r) for key, log in _sent_store._data.items() for r in log]
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = JOURNAL + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(lines))
    os.replace(tmp, JOURNAL)
    _journal = open(JOURNAL, "a", encoding="utf-8")
    _journal_lines = len(lines)


class JournaledLog(BoundedLog):
    """The sent-email log of one account and region, journaled line by line."""

    def __init__(self, scoped_key, entries=()):
        super().__init__(entries)
        self.scoped_key = scoped_key

    def append(self, item):
        _journal_write(_journal_line(self.scoped_key, item))
        super().append(item)
        if _journal_lines > 2 * CAP + CAP // 10:
            _compact_journal()


def _restore_journal():
    restored = {}
    if os.path.exists(JOURNAL):
        with open(JOURNAL, encoding="utf-8") as f:
            for line in f:
                try:
                    account, region, record = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash mid-write: that email was never acknowledged
                restored.setdefault((account, region, "entries"), []).append(record)
    for key, records in restored.items():
        _sent_store._data[key] = JournaledLog(key, records[-CAP:])
    _compact_journal()


def journaled_sent_emails():
    key = _sent_store._scoped("entries")
    current = _sent_store._data.get(key)
    if not isinstance(current, JournaledLog):
        # First email of this account and region, or the log was emptied by a reset: so is its journal part.
        current = JournaledLog(key)
        _sent_store._data[key] = current
        _compact_journal()
    return current


if PERSIST_STATE:
    _restore_journal()
    ses._sent_emails_list = journaled_sent_emails
    ses_v2 = sys.modules.get("ministack.services.ses_v2")
    if ses_v2 is not None and hasattr(ses_v2, "_sent_emails_list"):
        ses_v2._sent_emails_list = journaled_sent_emails

# Durable state. MiniStack writes its state only on SIGTERM, so a SIGKILL (the fault suite, a crash) lost every
# queued message: events accepted by PutEvents but not yet delivered to a rule target vanished, and so did their
# emails. It also lost the bus, its rules and the SES templates, so after a restart, until `stack:up` provisioned
# them again, PutEvents succeeded with no rule to route to and those events' emails never left. EventBridge, SQS
# and SES keep what they acknowledged; so does the local stand-in now: a call that changes state is answered only
# once that state is on disk. A PutEvents or SendMessage waits for the SQS state holding its messages; a change to
# buses, rules, targets, queues, templates or identities waits for its service's state. Saves are group commits
# (one for every request waiting, at most every 20 ms, or twice the last save's time under load), so a busy run
# pays a bounded share of the loop for them. Receives, deletes and visibility changes are saved with the next
# commit: after a crash a delivered event may come once more, which the targets' idempotency absorbs.
import asyncio  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402

import ministack.app as ministack_app  # noqa: E402

# JSON-protocol targets (x-amz-target) whose effect lives in another service's state.
SAVES_OF_TARGET = {
    b"AWSEvents.PutEvents": "sqs",  # routed synchronously into the rules' queues
}
# Calls answered before they are saved: they only read, or they are the consumers' hot path (saved next commit).
UNSAVED_PREFIXES = ("List", "Describe", "Get", "Test")
UNSAVED_CALLS = {
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    # SES sends are journaled on their own (above) and change no saved state.
    "SendEmail",
    "SendRawEmail",
    "SendTemplatedEmail",
    "SendBulkTemplatedEmail",
}
SERVICE_OF_PREFIX = {b"AWSEvents": "eventbridge", b"AmazonSQS": "sqs"}

_inner_app = ministack_app.app
_waiting = []
_dirty = set()
_commit_scheduled = False
_last_save_seconds = 0.0


async def _group_commit():
    global _commit_scheduled, _last_save_seconds
    await asyncio.sleep(max(0.02, 2 * _last_save_seconds))
    waiters = _waiting[:]
    del _waiting[:]
    services = sorted(_dirty)
    _dirty.clear()
    _commit_scheduled = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        for service in services:
            module = sys.modules.get(f"ministack.services.{service}")
            if module is not None and hasattr(module, "get_state"):
                save_state(service, module.get_state())
    finally:
        _last_save_seconds = loop.time() - started
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def _persisted(service):
    global _commit_scheduled
    waiter = asyncio.get_running_loop().create_future()
    _waiting.append(waiter)
    _dirty.add(service)
    if not _commit_scheduled:
        _commit_scheduled = True
        asyncio.get_running_loop().create_task(_group_commit())
    await waiter


def _saved_before_answer(call):
    """Whether a call of that name changes state that is saved before it is answered."""
    return call not in UNSAVED_CALLS and not call.startswith(UNSAVED_PREFIXES)


async def durable_app(scope, receive, send):
    if not PERSIST_STATE or scope.get("type") != "http" or scope.get("method") != "POST":
        return await _inner_app(scope, receive, send)
    headers = dict(scope.get("headers") or [])
    target = headers.get(b"x-amz-target", b"")
    service = None
    body = []
    if target:
        prefix, _, call = target.partition(b".")
        if target in SAVES_OF_TARGET:
            service = SAVES_OF_TARGET[target]
        elif prefix in SERVICE_OF_PREFIX and _saved_before_answer(call.decode()):
            service = SERVICE_OF_PREFIX[prefix]
    elif b"/ses/aws4_request" in headers.get(b"authorization", b""):
        service = "ses"  # query protocol: the call is in the body, read as it passes through
    if service is None:
        return await _inner_app(scope, receive, send)

    async def receive_and_keep():
        message = await receive()
        if service == "ses" and message.get("type") == "http.request":
            body.append(message.get("body", b""))
        return message

    def saved():
        if service != "ses":
            return True
        action = parse_qs(b"".join(body).decode("utf-8", "replace")).get("Action", [""])[0]
        return _saved_before_answer(action)

    async def send_when_saved(message):
        if message.get("type") == "http.response.start" and saved():
            await _persisted(service)
        await send(message)

    return await _inner_app(scope, receive_and_keep, send_when_saved)


ministack_app.app = durable_app

from ministack.app import main  # noqa: E402

main()
