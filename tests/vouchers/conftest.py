"""The voucher tests pay the invoices of the billing tests' booked fixture."""

from tests.billing.conftest import booked  # noqa: F401  (a fixture)
