"""`flask --app wsgi sharehub ...`: commands for operators and cron."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

group = AppGroup("sharehub", help="ShareHub maintenance commands.")


def with_site_url(command):
    """Commands that send mail build links outside a request: give them the site's
    public address (SERVER_BASE_URL) as if a request had come in there."""
    from functools import wraps

    @wraps(command)
    def wrapper(*args, **kwargs):
        from flask import current_app

        base = current_app.config["SERVER_BASE_URL"]
        with current_app.test_request_context(base_url=base):
            return command(*args, **kwargs)

    return wrapper


@group.command("seed-demo")
@with_site_url
def seed_demo_command():
    """Load the demo data once (does nothing if it is already there)."""
    from sharehub.core.tx import commit
    from sharehub.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo

    created = seed_demo()
    commit()
    click.echo("Demo data loaded." if created else "Demo data already present; nothing changed.")
    click.echo(f"Demo accounts (password: {DEMO_PASSWORD}):")
    for email, what in DEMO_ACCOUNTS:
        click.echo(f"  {email:32} {what}")


@group.command("seed-reference")
def seed_reference_command():
    """Add missing reference data: regions, instrument categories, holidays 2025-2027."""
    from sharehub.assessment.rounds import ensure_default_scheme
    from sharehub.catalog.reference import seed_categories, seed_holidays
    from sharehub.core.tx import commit
    from sharehub.demo import seed_regions

    counts = (seed_regions(), seed_categories(), seed_holidays())
    ensure_default_scheme()
    commit()
    click.echo("{} regions, {} categories, {} holiday entries added.".format(*counts))


@group.command("send-mail")
@click.option("--limit", default=500, show_default=True)
@click.option(
    "--retry-now",
    is_flag=True,
    help="Also retry failed messages at once, without waiting for their back-off "
    "(after the mail server is back).",
)
@with_site_url
def send_mail_command(limit: int, retry_now: bool):
    """Render stored events (bookings made, …) into mail, in-app messages and webhooks,
    then deliver queued mail (safe to run from cron on several machines)."""
    from sharehub.core.mail import deliver_outbox, process_events

    told = process_events(limit=limit)
    if told:
        click.echo(f"{told} events told.")
    sent, failed = deliver_outbox(limit=limit, retry_now=retry_now)
    click.echo(f"{sent} sent, {failed} failed.")


@group.command("send-refunds")
@click.option("--limit", default=100, show_default=True)
def send_refunds_command(limit: int):
    """Send requested card, Alipay and WeChat Pay refunds to the gateway (cron; safe on
    several machines: each refund carries its own idempotency key)."""
    from sharehub.billing.refunds import submit_refunds

    click.echo(f"{submit_refunds(limit=limit)} refunds sent.")


@group.command("reconcile-payments")
@click.option("--limit", default=200, show_default=True)
def reconcile_payments_command(limit: int):
    """Ask Alipay / WeChat Pay about payments whose notification never came and close
    expired payment codes (cron, every few minutes; safe on several machines at once)."""
    from sharehub.billing.online import reconcile

    counts = reconcile(limit=limit)
    click.echo(", ".join(f"{key}: {value}" for key, value in counts.items()))


@group.command("send-reminders")
@with_site_url
def send_reminders_command():
    """Remind customers 24 h before their bookings (cron; safe on several machines)."""
    from sharehub.booking.services import send_reminders
    from sharehub.core.tx import commit

    sent = send_reminders()
    commit()
    click.echo(f"{sent} reminders queued.")


@group.command("expire-holds")
@with_site_url
def expire_holds_command():
    """Free the slots of booking requests the lab did not decide in time (cron)."""
    from sharehub.booking.services import expire_holds
    from sharehub.core.tx import commit

    expired = expire_holds()
    commit()
    click.echo(f"{expired} requests expired.")


@group.command("send-webhooks")
@click.option("--limit", default=500, show_default=True)
def send_webhooks_command(limit: int):
    """Send due webhook deliveries, retrying failed ones with backoff (cron; safe on
    several machines)."""
    from sharehub.api.webhooks import deliver_due

    delivered, failed = deliver_due(limit=limit)
    click.echo(f"{delivered} delivered, {failed} failed.")


@group.command("send-notice-reminders")
@with_site_url
def send_notice_reminders_command():
    """Remind labs of rectification deadlines a week ahead; report passed ones (cron)."""
    from sharehub.assessment.rectification import send_reminders
    from sharehub.core.tx import commit

    reminded, reported = send_reminders()
    commit()
    click.echo(f"{reminded} reminders, {reported} overdue notices reported.")


@group.command("refresh-calendars")
@with_site_url
def refresh_calendars_command():
    """Refetch external calendars whose busy times block units (cron)."""
    from sharehub.calendar.imports import refresh_all
    from sharehub.core.tx import commit

    refreshed, failed = refresh_all()
    commit()
    click.echo(f"{refreshed} calendars refreshed, {failed} failed.")


@group.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--org-name",
    default="ShareHub 平台运营中心",
    show_default=True,
    help="Name of the platform organisation, made on first use.",
)
@click.option(
    "--org-credit-code",
    default="",
    help="Credit code of the platform organisation (needed the first time).",
)
@click.password_option()
def create_admin_command(email: str, name: str, org_name: str, org_credit_code: str, password: str):
    """Create a platform administrator (first install on a production machine)."""
    import sqlalchemy as sa

    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.accounts.services import check_password_strength
    from sharehub.accounts.session import find_user_by_email
    from sharehub.core import audit
    from sharehub.core.codes import is_valid_credit_code, normalize_credit_code
    from sharehub.core.db import utcnow
    from sharehub.core.errors import DomainError
    from sharehub.core.tx import commit
    from sharehub.extensions import db

    try:
        check_password_strength(password, email)
    except DomainError as exc:
        raise click.ClickException(str(exc.message)) from exc
    if find_user_by_email(email) is not None:
        raise click.ClickException(f"{email} already has an account.")
    platform = db.session.scalar(
        sa.select(Organisation).where(Organisation.kind == OrgKind.PLATFORM)
    )
    if platform is None:
        code = normalize_credit_code(org_credit_code)
        if not is_valid_credit_code(code):
            raise click.ClickException(
                "No platform organisation yet: give its --org-credit-code (18 characters)."
            )
        platform = Organisation(kind=OrgKind.PLATFORM, name=org_name, credit_code=code)
        db.session.add(platform)
    user = User(email=email.strip().lower(), name=name, email_verified_dt=utcnow())
    user.set_password(password)
    db.session.add(user)
    db.session.add(Membership(user=user, organisation=platform, role=Role.OWNER))
    db.session.flush()
    audit.record(None, "user.admin_created", user, organisation=platform)
    commit()
    click.echo(f"Administrator {user.email} created.")


@group.command("send-calibration-reminders")
@with_site_url
def send_calibration_reminders_command():
    """Tell labs' managers 30 and 7 days before a unit's certificate falls due (cron, daily;
    safe to run twice or on several machines: each reminder is sent once)."""
    from sharehub.calibration.services import send_reminders
    from sharehub.core.tx import commit

    sent = send_reminders()
    commit()
    click.echo(f"{sent} calibration reminders queued.")


@group.command("lapse-quotes")
def lapse_quotes_command():
    """Mark the testing quotes past their validity lapsed, with their requests (daily)."""
    from sharehub.core.tx import commit
    from sharehub.testing.orders import lapse_due

    count = lapse_due()
    commit()
    click.echo(f"{count} quotes lapsed.")


@group.command("check-consistency")
def check_consistency_command():
    """Check the stored data (after an incident, a restore or a load test); exit 1 on any
    overlapping booking, invoice-number gap, stray or mismatched payment, usage without its
    unit, invoice lines not adding up to the totals, a booking with more than one live
    invoice, credit notes beyond their invoice, a negative invoice marked paid, voucher uses
    above the programme's share, money received that is neither recorded nor being
    refunded, a booking made on a blocked unit while its certificate was overdue, a
    certificate due before it was issued, a self-operated booking without a valid
    authorisation, a broken or incomplete chain of usage records, online payments
    without their payment or event, several open fapiao requests for one statement, an
    issued fapiao whose amount is not its statement's total, a line without its 19-digit
    tax classification code on a statement waiting for its fapiao, sample or report numbers with
    gaps per lab and year, an issued report changed, testing orders or quotes whose totals
    are not the sum of their lines, an order billed twice, a funding account whose bookings
    commit more than its budget, events (a booking made, …) untold for over an hour or given
    up, and days of the last 400 of recorded use whose daily usage rollup differs from the
    records (sharehub/admin/consistency.py)."""
    from sharehub.admin.consistency import violations

    found = violations()
    for name, items in found.items():
        click.echo(f"{name}: {len(items)}" + (f"  {items[:10]}" if items else ""))
    if any(found.values()):
        raise SystemExit(1)
    click.echo("Consistent.")


@group.command("figures")
def figures_command():
    """Print the counts and sums a restored backup must reproduce (JSON), to compare a
    restore with the database it came from."""
    import json

    from sharehub.admin.consistency import figures

    click.echo(json.dumps(figures(), sort_keys=True, ensure_ascii=False, indent=1))


@group.command("send-authorisation-reminders")
@with_site_url
def send_authorisation_reminders_command():
    """Remind users 30 and 7 days before an authorisation to operate an instrument
    expires, by mail and in the app (cron; running it twice sends each reminder once)."""
    from sharehub.competence.notify import send_expiry_reminders
    from sharehub.core.tx import commit

    sent = send_expiry_reminders()
    commit()
    click.echo(f"{sent} authorisation reminders queued.")


@group.command("verify-usage-chain")
def verify_usage_chain_command():
    """Walk every lab's chain of usage records; name the first broken link of each lab
    whose chain is broken (exit 1), and the complete records outside any chain."""
    from sharehub.booking import chain

    breaks = chain.verify_all()
    outside = chain.unsealed_closed()
    for found in breaks:
        click.echo(f"Broken: {found}")
    if outside:
        click.echo(f"Outside the chain ({len(outside)}; run seal-usage): {outside[:10]}")
    if breaks or outside:
        raise SystemExit(1)
    click.echo("Every lab's chain of usage records is intact.")


@group.command("seal-usage")
def seal_usage_command():
    """Put complete usage records that are in no chain yet (records from before the
    chain) into their lab's chain, in id order. Safe to run again."""
    from sharehub.booking import chain
    from sharehub.extensions import db

    count = chain.backfill()
    db.session.commit()
    click.echo(f"{count} usage records sealed.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("refresh-rollups")
@click.option("--from", "first", default=None, help="first local day, YYYY-MM-DD")
@click.option("--to", "last", default=None, help="last local day, YYYY-MM-DD")
def refresh_rollups_command(first, last):
    """Rebuild the daily usage rollup of the statistics from the usage records, for the
    local days from --from to --to (default: every day with recorded use). Writes through
    the application keep the rollup current; this is for data loaded or restored outside
    it. Safe to run on several machines at once (the rebuilds wait for one another)."""
    from datetime import date, timedelta

    from sharehub.core.tx import commit
    from sharehub.extensions import db
    from sharehub.stats import rollups

    conn = db.session.connection()
    bounds = rollups.record_bounds(conn)
    try:
        start = date.fromisoformat(first) if first else (bounds[0] if bounds else None)
        end = (
            date.fromisoformat(last) + timedelta(days=1)
            if last
            else (bounds[1] if bounds else None)
        )
    except ValueError as exc:
        raise click.BadParameter("dates are written as YYYY-MM-DD") from exc
    if start is None or end is None:
        click.echo("No usage recorded: nothing to rebuild.")
        return
    if end <= start:
        raise click.BadParameter("--to is before --from")
    written = rollups.rebuild(conn, start, end)
    commit()
    click.echo(f"Rebuilt the usage rollup of {start} to {end - timedelta(days=1)}: {written} rows.")
