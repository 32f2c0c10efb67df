"""What happens to testing orders and reports, for the domains above testing (the API's
webhooks) to act on without testing importing them. Receivers run in the sender's
transaction: what they write commits or rolls back with the change."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: a TestingRequest with event="order.<its new status>" (every transition of the
# request/order state machine), or a Report with event="report.issued"/"report.withdrawn"
testing_event = _signals.signal("testing-event")
