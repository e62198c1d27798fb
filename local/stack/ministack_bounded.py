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

from ministack.app import main  # noqa: E402

main()
