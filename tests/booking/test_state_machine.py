"""The booking state machine: which actions each side may take in each state (the table
written out here in full), services.transition() agreeing with Booking.can(), and no code
outside transition() writing a booking's state."""

import ast
from pathlib import Path

import pytest

from sharehub.accounts.models import OrgKind
from sharehub.booking import services
from sharehub.booking.models import TRANSITIONS, Booking, BookingStatus
from sharehub.booking.services import BookingRequest
from sharehub.core.errors import Conflict, PermissionDenied
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")

S = BookingStatus

# (state, side) -> the actions that side may take on a booking in that state. The booking
# is on an instant listing and has a proposed move, so accept_offer and answer_proposal
# depend only on state and side here (their other conditions are tested below).
EXPECTED: dict[tuple[BookingStatus, str], set[str]] = {
    (S.PENDING, "lab"): {"approve", "decline", "cancel", "propose_move"},
    (S.PENDING, "customer"): {"cancel", "accept_offer", "reschedule", "answer_proposal"},
    (S.PENDING, "system"): {"expire"},
    (S.CONFIRMED, "lab"): {"cancel", "check_in", "no_show", "propose_move"},
    (S.CONFIRMED, "customer"): {"cancel", "reschedule", "answer_proposal"},
    (S.CONFIRMED, "system"): {"offer", "check_in"},
    (S.IN_PROGRESS, "lab"): {"check_out"},
    (S.IN_PROGRESS, "customer"): set(),
    (S.IN_PROGRESS, "system"): {"check_out"},
}
for _state in (S.COMPLETED, S.DECLINED, S.CANCELLED, S.EXPIRED, S.NO_SHOW):
    for _side in ("lab", "customer", "system"):
        EXPECTED[(_state, _side)] = set()  # final states: nothing more happens
for _state in S:
    for _side in ("stranger", "platform_admin"):
        EXPECTED[(_state, _side)] = set()  # they may look (an admin) but never act
    # The head of the group whose account pays decides only while their approval is
    # awaited (AWAITING below); the booking here never waited for it.
    EXPECTED[(_state, "head")] = set()

# A pending booking awaiting the head's approval: the head decides; the lab cannot yet.
AWAITING: dict[str, set[str]] = {
    "lab": {"cancel", "propose_move"},
    "customer": EXPECTED[(S.PENDING, "customer")],
    "system": {"expire"},
    "head": {"head_approve", "head_decline"},
    "stranger": set(),
    "platform_admin": set(),
}

ALL_SIDES = ("lab", "customer", "system", "stranger", "platform_admin", "head")


@pytest.fixture
def sides(db, lab, lab_manager, make_org, make_user, platform_admin):
    customer = make_org(name="采购企业")
    return {
        "lab": lab_manager,
        "customer": make_user(customer),
        "system": None,
        "stranger": make_user(make_org(kind=OrgKind.ENTERPRISE)),
        "platform_admin": platform_admin,
        # heads a group of the customer (not a member of it here, so only the head's side)
        "head": make_user(),
    }


@pytest.fixture
def booking(db, lab, make_listing, sides) -> Booking:
    from datetime import date

    from sharehub.institutions.models import FundingAccount, Group, GroupKind

    customer_user = sides["customer"]
    customer = customer_user.memberships[0].organisation
    group = Group(
        organisation=customer, name="课题组", kind=GroupKind.RESEARCH_GROUP, head=sides["head"]
    )
    account = FundingAccount(
        group=group,
        code="GR-1",
        name="基金",
        valid_from=date(2000, 1, 1),
        valid_to=date(2100, 1, 1),
    )
    db.session.add_all([group, account])
    db.session.flush()
    booking = services.create_booking(
        customer_user,
        customer,
        make_listing(lab, approval_required=False),
        BookingRequest(starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)),
    )
    booking.funding_account_id = account.id
    booking.proposed_starts_dt = at(workday(), 13, 30)
    booking.proposed_ends_dt = at(workday(), 15, 30)
    db.session.commit()
    return booking


def test_the_table_covers_every_state_and_side():
    assert set(EXPECTED) == {(state, side) for state in S for side in ALL_SIDES}
    assert set().union(*EXPECTED.values(), *AWAITING.values()) == set(TRANSITIONS)


def test_while_the_head_decides_only_the_head_approves_or_declines(db, booking, sides):
    from sharehub.booking.models import HeadApproval

    booking.status, booking.head_approval = S.PENDING, HeadApproval.AWAITING
    for side in ALL_SIDES:
        assert set(booking.allowed_actions(sides[side])) == AWAITING[side], side
    assert "has not approved this booking yet" in str(booking.refusal("approve", sides["lab"]))
    assert "Only the head of the group" in str(booking.refusal("head_approve", sides["customer"]))


@pytest.mark.parametrize("state", list(S))
def test_allowed_actions_per_state_and_side(booking, sides, state):
    booking.status = state
    for side in ALL_SIDES:
        allowed = booking.allowed_actions(sides[side])
        assert len(allowed) == len(set(allowed))
        assert set(allowed) == EXPECTED[(state, side)], (state, side)
        for action in TRANSITIONS:
            assert booking.can(action, sides[side]) == (action in allowed)


def test_a_user_on_both_sides_gets_both_sets(db, booking, lab, make_user, sides):
    from sharehub.accounts.models import Membership, Role

    both = sides["customer"]
    db.session.add(Membership(user=both, organisation=lab, role=Role.MANAGER))
    db.session.flush()
    booking.status = S.CONFIRMED
    assert set(booking.allowed_actions(both)) == (
        EXPECTED[(S.CONFIRMED, "lab")] | EXPECTED[(S.CONFIRMED, "customer")]
    )


def test_offer_and_proposal_have_their_own_conditions(db, booking, sides):
    customer = sides["customer"]
    booking.status = S.PENDING
    booking.listing.approval_required = True  # the lab confirms: nothing for the customer to take
    assert not booking.can("accept_offer", customer)
    assert isinstance(booking.refusal("accept_offer", customer), Conflict)
    booking.status = S.CONFIRMED
    booking.proposed_starts_dt = booking.proposed_ends_dt = None
    assert not booking.can("answer_proposal", customer)
    assert "no proposed move" in str(booking.refusal("answer_proposal", customer))
    assert booking.can("reschedule", customer)


@pytest.mark.parametrize("state", list(S))
def test_transition_refuses_exactly_what_can_refuses(db, booking, sides, state):
    """Every state-changing action from every state by every side: transition() does it
    when can() says so (and leads to the table's state), and otherwise refuses with 403 for
    the wrong side or 409 for the wrong state, changing nothing."""
    for side in ALL_SIDES:
        actor = sides[side]
        for action, rule in TRANSITIONS.items():
            savepoint = db.session.begin_nested()
            booking.status = state
            allowed = booking.can(action, actor)
            if rule.target is None:  # a move: checked, the state stays
                check = services.check
            else:
                check = services.transition
            if allowed:
                check(actor, booking, action)
                assert booking.status == (rule.target or state)
            else:
                error = PermissionDenied if side not in rule.by else Conflict
                with pytest.raises(error):
                    check(actor, booking, action)
                assert booking.status == state
            savepoint.rollback()


def test_refusals_keep_the_messages(db, booking, sides):
    booking.status = S.COMPLETED
    with pytest.raises(Conflict, match="This booking is Completed; that is not possible now"):
        services.transition(sides["lab"], booking, "check_out")
    with pytest.raises(PermissionDenied, match="You may not change this booking"):
        services.transition(sides["stranger"], booking, "cancel")
    with pytest.raises(PermissionDenied, match="Only the customer reschedules"):
        services.check(sides["lab"], booking, "reschedule")
    with pytest.raises(Conflict, match="can no longer be moved"):
        services.check(sides["lab"], booking, "propose_move")
    booking.status = S.CONFIRMED
    with pytest.raises(Conflict, match="This offer is no longer open"):
        services.transition(sides["customer"], booking, "accept_offer")


# --- nothing else writes a booking's state ---------------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "sharehub"
ALLOWED = {("sharehub/booking/services.py", "transition")}


def _mentions_booking_status(node: ast.AST | None) -> bool:
    return node is not None and "BookingStatus" in ast.unparse(node)


def _flatten(targets):
    for target in targets:
        if isinstance(target, ast.Tuple | ast.List):
            yield from _flatten(target.elts)
        else:
            yield target


def status_writes(source: str, path: str) -> list[str]:
    """Places in `source` that set a booking's state: `<...booking...>.status = ...`,
    `x.status = BookingStatus.…` (also inside tuple assignments), or `status=BookingStatus.…`
    in a call other than the Booking constructor (a new booking starts in its first state)."""
    found = []

    class Visitor(ast.NodeVisitor):
        def __init__(self):
            self.function = ""

        def visit_FunctionDef(self, node):  # noqa: N802 (ast's name)
            outer, self.function = self.function, node.name
            self.generic_visit(node)
            self.function = outer

        visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815

        def _assign(self, node, targets, value):
            for target in _flatten(targets):
                if not (isinstance(target, ast.Attribute) and target.attr == "status"):
                    continue
                if "booking" in ast.unparse(target.value).lower() or _mentions_booking_status(
                    value
                ):
                    if (path, self.function) not in ALLOWED:
                        found.append(f"{path}:{node.lineno} {ast.unparse(node)}")

        def visit_Assign(self, node):  # noqa: N802
            self._assign(node, node.targets, node.value)
            self.generic_visit(node)

        def visit_AugAssign(self, node):  # noqa: N802
            self._assign(node, [node.target], node.value)
            self.generic_visit(node)

        def visit_AnnAssign(self, node):  # noqa: N802
            self._assign(node, [node.target], node.value)
            self.generic_visit(node)

        def visit_Call(self, node):  # noqa: N802
            constructor = isinstance(node.func, ast.Name) and node.func.id == "Booking"
            setattr_status = (
                isinstance(node.func, ast.Name)
                and node.func.id == "setattr"
                and len(node.args) == 3
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "status"
                and _mentions_booking_status(node.args[2])
            )
            keyword_status = not constructor and any(
                k.arg == "status" and _mentions_booking_status(k.value) for k in node.keywords
            )
            if (setattr_status or keyword_status) and (path, self.function) not in ALLOWED:
                found.append(f"{path}:{node.lineno} {ast.unparse(node)[:120]}")
            self.generic_visit(node)

    Visitor().visit(ast.parse(source))
    return found


def test_only_transition_writes_a_booking_state():
    root = PACKAGE.parent
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += status_writes(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
    assert found == [], "set the state through booking.services.transition():\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "booking.status = BookingStatus.PENDING",
        "booking.status, booking.hold_expires_dt = (BookingStatus.CONFIRMED, None)",
        "b.status = BookingStatus.CANCELLED",
        "self.booking.status = target",
        "sa.update(Booking).values(status=BookingStatus.EXPIRED)",
        "setattr(booking, 'status', BookingStatus.NO_SHOW)",
    ],
)
def test_the_check_sees_a_direct_write(line):
    assert status_writes(f"def f():\n    {line}\n", "sharehub/booking/waitlist.py")
    assert not status_writes(f"def transition():\n    {line}\n", "sharehub/booking/services.py"), (
        "transition() itself writes the state"
    )


def test_the_check_leaves_other_states_alone():
    source = (
        "def f():\n"
        "    invoice.status = InvoiceStatus.VOID\n"
        "    entry.status = 'booked'\n"
        "    Booking(status=BookingStatus.PENDING)\n"
    )
    assert status_writes(source, "sharehub/booking/waitlist.py") == []
