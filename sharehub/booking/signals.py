"""What happens to bookings, for the domains above booking to act on without booking
importing them (docs/architecture.md). Receivers run in the sender's transaction: what
they write commits or rolls back with the booking, and an error they raise refuses it."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the booking; event="created", "confirmed", "cancelled", … (booking/notify.py)
booking_event = _signals.signal("booking-event")
# sender: the booking, just cancelled; actor=, fee= (fen kept): billing settles the money
booking_cancelled = _signals.signal("booking-cancelled")
