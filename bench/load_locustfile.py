"""The load scenario, run by locust in headless mode from bench/load.py.

Customers sign in through the form (CSRF token parsed from the page), browse, search, open
listings and their calendars, book free blocks, cancel some bookings and pay some invoices
online; lab managers approve requests, draft and issue invoices, record bank transfers and
read their revenue page. Online payment is Stripe's part played locally: a signed
`checkout.session.completed` event, half the time followed by the `payment_intent.succeeded`
of the same payment (Stripe sends both), posted to /webhooks/stripe.

The world (users, listings, working days, search terms) comes as JSON from the file named
by LOAD_WORLD; the counts of what was done go to LOAD_SUMMARY when the run stops.
Requests are bounded by LOAD_MAX_REQUESTS, time and users by locust's own options.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict, deque
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task

WORLD = json.loads(open(os.environ["LOAD_WORLD"], encoding="utf-8").read())
ZONE = ZoneInfo("Asia/Shanghai")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
AMOUNT = re.compile(r'name="amount" inputmode="decimal" value="([0-9.]+)"')
BOOKING_URL = re.compile(r"/bookings/(\d+)$")
INVOICE_URL = re.compile(r"/invoices/(\d+)$")
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "0")) or None
WEBHOOK_SECRET = WORLD["webhook_secret"]

LOCK = threading.Lock()  # locust users are greenlets of one process; the lock is cheap
COUNTS: Counter = Counter()
STATUSES: dict[str, Counter] = defaultdict(Counter)
LAB_QUEUES: dict[int, deque] = defaultdict(deque)  # (booking, customer org) to process
TO_PAY_ONLINE: dict[int, deque] = defaultdict(deque)  # per customer org: (invoice, fen)


@events.request.add_listener
def _count(name, response, exception, **_):
    with LOCK:
        COUNTS["requests"] += 1
        code = getattr(response, "status_code", None) or 0
        STATUSES[name][str(code)] += 1
        if code >= 500 or code == 0:
            COUNTS["server_errors" if code >= 500 else "connection_errors"] += 1
        if MAX_REQUESTS and COUNTS["requests"] >= MAX_REQUESTS and not COUNTS["stopping"]:
            COUNTS["stopping"] = 1
            runner = _ENV.get("env") and _ENV["env"].runner
            if runner is not None:
                threading.Thread(target=runner.quit, daemon=True).start()


_ENV: dict = {}


@events.init.add_listener
def _keep_env(environment, **_):
    _ENV["env"] = environment


@events.quitting.add_listener
def _write_summary(environment, **_):
    path = os.environ.get("LOAD_SUMMARY")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"counts": COUNTS, "statuses": STATUSES}, out, ensure_ascii=False)


def _expect(response, *codes: int) -> bool:
    """Mark the request failed unless its status is one of `codes`."""
    if response.status_code in codes:
        response.success()
        return True
    response.failure(f"status {response.status_code}")
    return False


class Browser(HttpUser):
    abstract = True
    wait_time = between(0.2, 1.5)
    email = ""

    def on_start(self) -> None:
        self.token = ""
        with self.client.get("/account/signin", name="sign in page", catch_response=True) as r:
            _expect(r, 200)
            self.token = CSRF.search(r.text).group(1)
        with self.client.post(
            "/account/signin",
            data={"email": self.email, "password": WORLD["password"], "csrf_token": self.token},
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            _expect(r, 302)

    def page(self, path: str, name: str, *codes: int) -> str:
        with self.client.get(path, name=name, catch_response=True) as r:
            _expect(r, *(codes or (200,)))
            found = CSRF.search(r.text)
            if found:
                self.token = found.group(1)
            return r.text

    def post(self, path: str, name: str, data: dict, *codes: int):
        with self.client.post(
            path,
            data={**data, "csrf_token": self.token},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            _expect(r, *(codes or (302,)))
            return r


class Customer(Browser):
    weight = 6

    def on_start(self) -> None:
        with LOCK:
            n = COUNTS["customers"]
            COUNTS["customers"] += 1
        self.email, self.org_id = WORLD["customers"][n % len(WORLD["customers"])]
        self.mine: list[int] = []
        super().on_start()

    @task(3)
    def browse(self) -> None:
        self.page("/", "home")
        term = random.choice(WORLD["terms"])
        self.page(f"/catalog?q={quote(term)}", "search")
        listing = random.choice(WORLD["listings"])
        self.page(f"/catalog/{listing['id']}", "listing page")

    @task(4)
    def book(self) -> None:
        # A few popular instruments and the coming weeks draw most requests, so some
        # customers want the same slot at once.
        popular = random.random() < 0.3
        listing = random.choice(WORLD["listings"][:5] if popular else WORLD["listings"])
        day = date.fromisoformat(random.choice(WORLD["days"][:5] if popular else WORLD["days"]))
        start_minute, minutes = random.choice(WORLD["blocks"])
        start = datetime(day.year, day.month, day.day, tzinfo=ZONE) + timedelta(
            minutes=start_minute
        )
        query = urlencode({"start": start.isoformat(), "minutes": minutes})
        self.page(f"/catalog/{listing['id']}/book?week={day.isoformat()}", "calendar")
        self.page(f"/catalog/{listing['id']}/book/review?{query}", "review")
        r = self.post(f"/catalog/{listing['id']}/book/review?{query}", "book", {}, 302, 409)
        if r.status_code == 409:
            with LOCK:
                COUNTS["slot_taken"] += 1
            return
        booking_id = int(BOOKING_URL.search(r.headers["Location"]).group(1))
        with LOCK:
            COUNTS["bookings_made"] += 1
            LAB_QUEUES[listing["lab_id"]].append((booking_id, self.org_id))
        self.mine.append(booking_id)
        self.page(f"/bookings/{booking_id}", "booking page")

    @task(1)
    def cancel(self) -> None:
        if len(self.mine) < 3:
            return
        booking_id = self.mine.pop(random.randrange(len(self.mine)))
        self.page(f"/bookings/{booking_id}", "booking page")
        self.post(f"/bookings/{booking_id}/cancel", "cancel", {"reason": "计划变更"})
        with LOCK:
            COUNTS["cancel_attempts"] += 1

    @task(1)
    def my_bookings(self) -> None:
        self.page("/bookings", "my bookings")

    @task(2)
    def pay_online(self) -> None:
        with LOCK:
            queue = TO_PAY_ONLINE[self.org_id]
            if not queue:
                return
            invoice_id, amount = queue.popleft()
        self.page(f"/invoices/{invoice_id}", "invoice page")
        intent = f"pi_load_{invoice_id}"
        session = {
            "id": f"cs_load_{invoice_id}",
            "object": "checkout.session",
            "payment_status": "paid",
            "payment_intent": intent,
            "amount_total": amount,
            "payment_method_types": [random.choice(["card", "alipay", "wechat_pay"])],
            "metadata": {"invoice_id": str(invoice_id)},
        }
        self.webhook(f"evt_cs_{invoice_id}", "checkout.session.completed", session)
        if random.random() < 0.5:  # Stripe also reports the intent: the same payment
            pi = {
                "id": intent,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "payment_method_types": session["payment_method_types"],
                "metadata": {"invoice_id": str(invoice_id)},
            }
            self.webhook(f"evt_pi_{invoice_id}", "payment_intent.succeeded", pi)
        with LOCK:
            COUNTS["paid_online"] += 1

    def webhook(self, event_id: str, kind: str, obj: dict) -> None:
        body = json.dumps(
            {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
        ).encode()
        stamp = int(time.time())
        mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        with self.client.post(
            "/webhooks/stripe",
            data=body,
            headers={
                "Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}",
                "Content-Type": "application/json",
            },
            name="webhook",
            catch_response=True,
        ) as r:
            _expect(r, 200)


class LabManager(Browser):
    fixed_count = len(WORLD["labs"])

    def on_start(self) -> None:
        with LOCK:
            n = COUNTS["lab_managers"]
            COUNTS["lab_managers"] += 1
        self.lab_id, self.email = WORLD["labs"][n % len(WORLD["labs"])]
        super().on_start()

    @task(5)
    def work_the_queue(self) -> None:
        with LOCK:
            queue = LAB_QUEUES[self.lab_id]
            if not queue:
                return
            booking_id, customer_org = queue.popleft()
        page = self.page(f"/bookings/{booking_id}", "lab: booking page")
        if f"/bookings/{booking_id}/approve" in page:
            self.post(f"/bookings/{booking_id}/approve", "lab: approve", {})
            with LOCK:
                COUNTS["approved"] += 1
            page = self.page(f"/bookings/{booking_id}", "lab: booking page")
        if f"/bookings/{booking_id}/invoice" not in page:
            return  # cancelled meanwhile (no fee): nothing to invoice
        r = self.post(f"/bookings/{booking_id}/invoice", "lab: draft invoice", {})
        found = INVOICE_URL.search(r.headers.get("Location", ""))
        if not found:
            return  # the customer cancelled between the page and the POST
        invoice_id = int(found.group(1))
        self.page(f"/invoices/{invoice_id}", "lab: invoice page")
        self.post(f"/invoices/{invoice_id}/issue", "lab: issue invoice", {})
        page = self.page(f"/invoices/{invoice_id}", "lab: invoice page")
        with LOCK:
            COUNTS["invoices_issued"] += 1
        amount = AMOUNT.search(page)
        if amount is None:
            return
        fen = round(float(amount.group(1)) * 100)
        if random.random() < 0.5:
            self.post(
                f"/invoices/{invoice_id}/payments",
                "lab: record bank transfer",
                {
                    "amount": amount.group(1),
                    "paid_date": date.today().isoformat(),
                    "payer_reference": f"SH{invoice_id:08d}",
                },
            )
            with LOCK:
                COUNTS["paid_by_transfer"] += 1
        else:
            with LOCK:
                TO_PAY_ONLINE[customer_org].append((invoice_id, fen))

    @task(1)
    def log_internal_use(self) -> None:
        """Internal use of a unit yesterday, logged by form (a usage record)."""
        self.page("/lab/usage", "lab: usage page")
        day = date.today() - timedelta(days=1)
        start = random.choice((8, 10, 13, 15))
        self.post(
            "/lab/usage",
            "lab: log internal use",
            {
                "unit_id": random.choice(WORLD["lab_units"][str(self.lab_id)]),
                "started": f"{day.isoformat()} {start:02d}:00",
                "ended": f"{day.isoformat()} {start + 2:02d}:00",
                "prep_minutes": 10,
                "run_minutes": 90,
                "post_minutes": 10,
                "service_way": "on_site",
            },
        )
        with LOCK:
            COUNTS["usage_logged"] += 1

    @task(1)
    def overview(self) -> None:
        self.page("/lab/bookings", "lab: bookings")
        self.page("/lab/revenue", "lab: revenue")
