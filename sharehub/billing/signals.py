"""What happens to invoices, for the domains above billing to act on without billing
importing them (docs/architecture.md). Receivers run in the sender's transaction."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the invoice; event_type="invoice.issued" or "invoice.paid"
invoice_event = _signals.signal("invoice-event")
# sender: the invoice, voided or cancelled with its booking; actor=. Vouchers that paid
# it go back to their quotas; each receiver returns the fen it gave back.
invoice_annulled = _signals.signal("invoice-annulled")
