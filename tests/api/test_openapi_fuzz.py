"""schemathesis against the live OpenAPI document, served by gunicorn with the demo data:
every operation, positive and negative examples, with a buyer's, a lab manager's and a
regulator's tokens. No answer may be a server error or stray from the document (status, content
type, headers, body schema)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.support.backend import BACKEND
from tests.support.live import live_server

EXAMPLES = 15


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
        }
        yield base, tokens


def _who(case) -> str:
    if case.path == "/api/v1/metrics":
        return "staff"  # every level and laboratory
    lab_side = case.query and case.query.get("side") == "lab"
    return "lab" if "usage" in case.path or "metrics" in case.path or lab_side else "enterprise"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_follow_the_openapi_document(live_api, mode):
    base, tokens = live_api
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20
    tried: Counter = Counter()
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            secured = bool(case.operation.definition.raw.get("security"))
            headers = {"Authorization": f"Bearer {tokens[_who(case)]}"} if secured else {}
            tried[case.operation.label] += 1
            # Schema-valid input may still break a business rule (a start off the slot
            # grid, a closed day): that is a 400 problem, so "valid data is accepted" is
            # not checked; everything else is.
            case.call_and_validate(
                headers=headers,
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    print(f"schemathesis {mode.value}: {sum(tried.values())} requests", dict(tried))
    assert not failures, "\n\n".join(failures)
