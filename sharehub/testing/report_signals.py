"""What happens to testing orders and reports, for the domains above testing (the API's
webhooks) to act on without testing importing them. Receivers run in the sender's
transaction."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: a TestingRequest (event="order.<status>") or a Report (event="report.issued",
# "report.withdrawn")
report_event = _signals.signal("testing-report-event")
