"""Buying as an institution: groups of a buyer's organisation with their head's approval
rules, and the funding accounts (grants, cost centres) their bookings are charged to."""
