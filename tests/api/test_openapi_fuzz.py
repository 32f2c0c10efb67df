"""schemathesis against the live OpenAPI document, served by gunicorn with the demo data:
every operation, positive and negative examples, with a buyer's, a lab manager's and a
regulator's tokens, and the secured operations once more without a token. Every check runs:
no answer may be a server error or stray from the document (status, content type, headers,
body schema), every schema-valid request is accepted (or refused for the state of the data,
409) and every schema-violating one refused.

Some rules relate two fields, or a day or time to today, which a JSON schema cannot
state; the parameters' descriptions state them, and positive examples are moved to keep
them (_keep_rules): an end after its start; the free-time search from today up to 365 days
ahead over at most 31 days; a statistics period after its start, at most three years long;
a usage record in the past, its minutes at most the time of use plus a day; a device
event in the past; an Idempotency-Key unique per operation. Negative
examples stay as generated. Speed is measured in bench/, not asserted here."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, assume, given, settings
from schemathesis import GenerationMode

from sharehub.api.schemas import FIRST_DAY, MAX_YEARS, years_after
from sharehub.catalog.queries import MAX_FREE_AHEAD_DAYS, MAX_FREE_DAYS
from tests.support import clock
from tests.support.backend import BACKEND
from tests.support.live import live_server

EXAMPLES = 15
PAIRS = (("starts_at", "ends_at"), ("started_at", "ended_at"))


def _token_for(url: str, email: str, org_kind: str) -> str:
    """A token written straight into the live server's database for a demo account."""
    from sharehub.accounts.models import Membership, Organisation, User
    from sharehub.api.models import SCOPES, ApiToken
    from sharehub.api.services import hash_token
    from sharehub.core.db import utcnow

    plain = f"shr_fuzz-{org_kind}-{email.split('@')[0]}-0123456789abcdef"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        user_id, org_id = conn.execute(
            sa.select(User.id, Membership.organisation_id)
            .join(Membership, Membership.user_id == User.id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(User.email == email, Organisation.kind == org_kind)
            .limit(1)
        ).one()
        conn.execute(
            sa.insert(ApiToken.__table__).values(
                user_id=user_id,
                organisation_id=org_id,
                name="fuzz",
                prefix=plain[:10],
                token_hash=hash_token(plain),
                scopes=sorted(SCOPES),
                expires_dt=utcnow() + timedelta(days=1),
                created_dt=utcnow(),
            )
        )
    engine.dispose()
    return plain


@pytest.fixture(scope="module")
def live_api(postgres, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("api-live")
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("needs the throwaway PostgreSQL cluster")
        url = postgres.create_database("sharehub_api_fuzz")
    else:
        url = f"sqlite:///{workdir / 'api.db'}"
    # gunicorn answers request lines over 4 KB itself (414, HTML) before the app sees them;
    # lift that so every generated request reaches ShareHub.
    env = {"API_RATE_LIMIT": "100000 per minute", "GUNICORN_CMD_ARGS": "--limit-request-line 0"}
    with live_server(url, workdir, workers=2, env=env) as base:
        tokens = {
            "enterprise": _token_for(url, "buyer@demo.sharehub.cn", "enterprise"),
            "lab": _token_for(url, "lab@demo.sharehub.cn", "lab"),
            "staff": _token_for(url, "regulator@demo.sharehub.cn", "authority"),
            "device": _device_token_for(url),
        }
        yield base, tokens


def _device_token_for(url: str) -> str:
    """A power meter's token of the first demo unit, written straight into the database."""
    from sharehub.booking.capture import hash_token
    from sharehub.booking.models import CaptureDevice
    from sharehub.catalog.models import Unit
    from sharehub.core.db import utcnow

    plain = "shd_fuzz-meter-0123456789abcdef"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        unit_id = conn.execute(sa.select(Unit.id).order_by(Unit.id).limit(1)).scalar_one()
        conn.execute(
            sa.insert(CaptureDevice.__table__).values(
                unit_id=unit_id,
                kind="meter",
                name="fuzz",
                prefix=plain[:10],
                token_hash=hash_token(plain),
                created_dt=utcnow(),
            )
        )
    engine.dispose()
    return plain


def _who(case) -> str:
    if case.path == "/api/v1/devices/events":
        return "device"
    if case.path == "/api/v1/metrics":
        return "staff"  # every level and laboratory
    lab_side = case.query and case.query.get("side") == "lab"
    return "lab" if "usage" in case.path or "metrics" in case.path or lab_side else "enterprise"


def _drops_token(case) -> bool:
    """A negative case that leaves out the Authorization header the document requires."""
    data = case.meta.phase.data if case.meta else None
    return any(
        mutation.parameter_location.value == "header"
        and "Authorization" in (mutation.parameter, mutation.original_value)
        for mutation in getattr(data, "mutations", ()) or ()
    )


def _in_order(case) -> bool:
    """The rule between two fields that a JSON schema cannot state (its descriptions do):
    an end comes after its start. Positive examples keep it."""
    body = case.body if isinstance(case.body, dict) else {}
    for first, last in PAIRS:
        if first in body and last in body:
            if datetime.fromisoformat(body[last]) <= datetime.fromisoformat(body[first]):
                return False
    return True


def _day(query: dict, name: str) -> date | None:
    """The day a parameter names, if it names one (a day the schema allows but the
    calendar lacks stays as it is, for the server to judge)."""
    try:
        return date.fromisoformat(query[name]) if query.get(name) else None
    except (TypeError, ValueError):
        return None


def _within(day: date, low: date, high: date) -> date:
    """A day of [low, high] picked by the generated day, so examples stay varied."""
    return low + timedelta(days=day.toordinal() % ((high - low).days + 1))


def _free_window(query: dict, today: date, with_span: bool) -> None:
    """The free-time search: `from` up to MAX_FREE_AHEAD_DAYS after today (and, with a
    span, not before today); `to` not before `from` and at most MAX_FREE_DAYS in all."""
    first, last = _day(query, "from"), _day(query, "to")
    if first is None:
        return
    latest = today + timedelta(days=MAX_FREE_AHEAD_DAYS)
    if first > latest or (with_span and first < today):
        first = _within(first, today, latest)
        query["from"] = first.isoformat()
    if with_span and last is not None:
        if not first <= last < first + timedelta(days=MAX_FREE_DAYS):
            query["to"] = _within(
                last, first, first + timedelta(days=MAX_FREE_DAYS - 1)
            ).isoformat()


def _period(query: dict, today: date) -> None:
    """A statistics period [from, to): `to` after `from`, at most three years on; without
    `to`, `from` today or earlier (the default runs up to today)."""
    first, last = _day(query, "from"), _day(query, "to")
    if last is None:
        if first is not None and first > today:
            query["from"] = _within(first, FIRST_DAY, today).isoformat()
        return
    start = first or date(today.year, 1, 1)
    if start < last <= years_after(start, MAX_YEARS):
        return
    if last == FIRST_DAY:
        last = FIRST_DAY + timedelta(days=1)
        query["to"] = last.isoformat()
    # Keep `to` and choose `from` within the three years before it (1,095 days or fewer).
    low = max(FIRST_DAY, last - timedelta(days=365 * MAX_YEARS))
    query["from"] = _within(start, low, last - timedelta(days=1)).isoformat()


def _use_that_happened(body: dict) -> None:
    """A usage record: its times not in the future, its minutes at most the time of use
    plus a day (the end after the start is kept by _in_order)."""
    try:
        started = datetime.fromisoformat(body["started_at"])
        ended = datetime.fromisoformat(body["ended_at"])
    except (KeyError, TypeError, ValueError):
        return
    latest = datetime.now(UTC) - timedelta(hours=1)
    if ended > latest:
        shift = ended - latest
        started, ended = started - shift, ended - shift
        assume(started.year >= 2000)
        body["started_at"], body["ended_at"] = started.isoformat(), ended.isoformat()
    allowed = int((ended - started).total_seconds() // 60) + 24 * 60
    minutes = ("prep_minutes", "run_minutes", "post_minutes")
    if sum(body.get(k, 0) for k in minutes) > allowed:
        body["prep_minutes"] = body["post_minutes"] = 0
        body["run_minutes"] = min(body["run_minutes"], allowed)


def _event_that_happened(body: dict) -> None:
    """A device event: not in the future."""
    try:
        moment = datetime.fromisoformat(body["at"])
    except (KeyError, TypeError, ValueError):
        return
    latest = datetime.now(UTC) - timedelta(hours=1)
    if moment > latest:
        body["at"] = _within(moment.date(), date(2000, 1, 1), latest.date() - timedelta(days=1))
        body["at"] = datetime.combine(body["at"], moment.timetz()).isoformat()


def _keep_rules(case):
    """Move a positive example into the rules the descriptions state (see the module's
    docstring); the result is still valid by the schema."""
    if case.headers is not None and "Idempotency-Key" in case.headers:  # case-insensitive
        # "A unique value per operation": the same key on another request is refused 422.
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
    if case.path == "/api/v1/usage-records" and isinstance(case.body, dict):
        _use_that_happened(case.body)
    if case.path == "/api/v1/devices/events" and isinstance(case.body, dict):
        _event_that_happened(case.body)
    query = case.query if isinstance(case.query, dict) else None
    if not query:
        return case
    today = clock.today()
    if case.path == "/api/v1/listings":
        _free_window(query, today, with_span=True)
    elif case.path == "/api/v1/listings/{listing_id}/availability":
        _free_window(query, today, with_span=False)
    elif case.path in ("/api/v1/statistics", "/api/v1/metrics"):
        _period(query, today)
    return case


def _header(response, name: str) -> str:
    """A response header by its name in any case (schemathesis keeps them lower case, as
    lists of values)."""
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return ""


@pytest.mark.parametrize(
    ("mode", "caller"),
    [
        (GenerationMode.POSITIVE, "token"),
        (GenerationMode.NEGATIVE, "token"),
        (GenerationMode.POSITIVE, "anonymous"),
    ],
)
def test_api_answers_follow_the_openapi_document(live_api, mode, caller):
    base, tokens = live_api
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert (
        len(operations) == 40
    )  # /statements… and their deprecated /invoices… aliases; testing; fapiao
    if caller == "anonymous":  # every secured operation answers 401 problem+json
        operations = [op for op in operations if op.definition.raw.get("security")]
        assert len(operations) == 32
    tried: Counter = Counter()
    failures = []
    for operation in operations:
        cases = operation.as_strategy(generation_mode=mode)
        if mode == GenerationMode.POSITIVE:
            cases = cases.map(_keep_rules)

        # Without shrinking: a failing run ends soon, and schemathesis still reports the
        # failing request as a curl command.
        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            if mode == GenerationMode.POSITIVE:
                assume(_in_order(case))
            secured = bool(case.operation.definition.raw.get("security"))
            headers = {}
            if secured and caller == "token" and not _drops_token(case):
                headers = {"Authorization": f"Bearer {tokens[_who(case)]}"}
            tried[case.operation.label] += 1
            response = case.call_and_validate(headers=headers)
            if secured and caller == "anonymous":
                assert response.status_code == 401, response.text
                media_type = _header(response, "Content-Type").split(";")[0].strip()
                assert media_type == "application/problem+json", response.text

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            failures.append(f"{operation.label}: {exc}")
    print(f"schemathesis {mode.value} {caller}: {sum(tried.values())} requests", dict(tried))
    assert not failures, "\n\n".join(failures)
