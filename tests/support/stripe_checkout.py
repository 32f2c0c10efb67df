"""A local stand-in for Stripe Checkout in front of localstripe, on 127.0.0.1.

localstripe covers payment intents, payment methods and refunds, and signs its own
webhooks, but has no Checkout. This server answers `POST /v1/checkout/sessions` with its own
hosted payment page; the card typed there is paid through localstripe (a payment method and
a confirmed payment intent carrying the session's metadata), after which it posts a locally
signed `checkout.session.completed` to the shop and sends the browser back to the success
address. Every other `/v1/...` call is passed through to localstripe unchanged, so the stripe
library needs one base address.

Run as `python -m tests.support.stripe_checkout PORT LOCALSTRIPE_URL SECRET`; POST the shop's
webhook address to /_config/webhook (field `url`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import sys
import time
import urllib.request

from aiohttp import ClientSession, web

SESSIONS: dict[str, dict] = {}
WEBHOOK: dict[str, str] = {}


def nested(form) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into dicts and lists."""
    root: dict = {}
    for key, value in form.items():
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part, following in zip(parts, parts[1:] + [None], strict=True):
            if following is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return root


def page(session: dict, error: str = "") -> str:
    amount = int(session["amount_total"]) / 100
    message = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Checkout</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:3rem auto;color:#222}}
label{{display:block;margin:.6rem 0 .2rem}}input{{font-size:1.1rem;padding:.3rem;width:100%}}
button{{margin-top:1rem;font-size:1.1rem;padding:.5rem 1.2rem;background:#635bff;color:#fff;
border:0;border-radius:4px}}.error{{color:#b00}}.box{{border:1px solid #ddd;padding:1rem 1.5rem;
border-radius:8px}}</style></head><body><div class="box">
<h1>Stripe Checkout <small>(local stand-in)</small></h1>
<p>{html.escape(session["product"])}</p><p id="amount"><strong>{amount:,.2f}
{session["currency"].upper()}</strong></p>{message}
<form method="post"><label for="number">Card number</label>
<input id="number" name="number" autocomplete="off" value="">
<label for="exp">Expiry (MM/YY)</label><input id="exp" name="exp" value="">
<label for="cvc">CVC</label><input id="cvc" name="cvc" value="">
<button type="submit" id="pay">Pay</button></form>
<p><a href="{html.escape(session["cancel_url"])}">Cancel</a></p></div></body></html>"""


def make_app(localstripe: str, secret: str) -> web.Application:
    import stripe

    stripe.api_base = localstripe
    stripe.api_key = "sk_test_local"

    async def create_session(request):
        form = nested(await request.post())
        methods = list(form.get("payment_method_types", {}).values())
        options = form.get("payment_method_options", {})
        if "wechat_pay" in methods and options.get("wechat_pay", {}).get("client") != "web":
            # As Stripe answers: WeChat Pay needs the client the payment page runs in.
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "param": "payment_method_options[wechat_pay][client]",
                        "message": "payment_method_options[wechat_pay][client] is required "
                        "for wechat_pay.",
                    }
                },
                status=400,
            )
        item = form["line_items"]["0"]
        session_id = "cs_test_" + secrets.token_hex(8)
        base = f"http://{request.host}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{base}/pay/{session_id}",
            "mode": "payment",
            "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
            "currency": item["price_data"]["currency"],
            "product": item["price_data"]["product_data"]["name"],
            "metadata": form.get("metadata", {}),
            "intent_metadata": form.get("payment_intent_data", {}).get("metadata", {}),
            "payment_method_types": methods,
            "payment_method_options": options,
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "payment_status": "unpaid",
            "payment_intent": None,
        }
        SESSIONS[session_id] = session
        return web.json_response(session)

    async def retrieve(request):
        session = SESSIONS.get(request.match_info["id"])
        if session is None:
            raise web.HTTPNotFound()
        return web.json_response({k: v for k, v in session.items() if k != "intent_metadata"})

    async def show(request):
        session = SESSIONS.get(request.match_info["id"])
        if session is None:
            raise web.HTTPNotFound()
        return web.Response(text=page(session), content_type="text/html")

    async def pay(request):
        session = SESSIONS.get(request.match_info["id"])
        if session is None:
            raise web.HTTPNotFound()
        form = await request.post()
        month, _, year = str(form.get("exp", "")).partition("/")
        try:
            method = stripe.PaymentMethod.create(
                type="card",
                card={
                    "number": str(form.get("number", "")).replace(" ", ""),
                    "exp_month": month.strip(),
                    "exp_year": year.strip(),
                    "cvc": str(form.get("cvc", "")),
                },
            )
            intent = stripe.PaymentIntent.create(
                amount=session["amount_total"],
                currency=session["currency"],
                payment_method_types=["card"],
                payment_method=method.id,
                metadata=session["intent_metadata"],
            )
            intent = stripe.PaymentIntent.confirm(intent.id)
        except stripe.StripeError as exc:
            return web.Response(
                text=page(session, exc.user_message or "card refused"), content_type="text/html"
            )
        if intent.status != "succeeded":
            return web.Response(
                text=page(session, f"payment {intent.status}"), content_type="text/html"
            )
        session.update(payment_status="paid", payment_intent=intent.id, status="complete")
        event = {
            "id": "evt_" + secrets.token_hex(8),
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {"object": {k: v for k, v in session.items() if k != "intent_metadata"}},
        }
        body = json.dumps(event).encode()
        stamp = int(time.time())
        mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        hook = urllib.request.Request(
            WEBHOOK["url"],
            data=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={mac}"},
        )
        urllib.request.urlopen(hook, timeout=10).close()
        raise web.HTTPSeeOther(session["success_url"])

    async def passthrough(request):
        async with ClientSession() as client:
            async with client.request(
                request.method,
                localstripe + request.path_qs,
                data=await request.read(),
                headers={
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() in ("authorization", "content-type", "idempotency-key")
                },
            ) as answer:
                return web.Response(
                    body=await answer.read(),
                    status=answer.status,
                    content_type=answer.content_type,
                )

    async def configure(request):
        WEBHOOK["url"] = (await request.post())["url"]
        return web.json_response(WEBHOOK)

    app = web.Application()
    app.router.add_post("/_config/webhook", configure)
    app.router.add_post("/v1/checkout/sessions", create_session)
    app.router.add_get("/v1/checkout/sessions/{id}", retrieve)
    app.router.add_get("/pay/{id}", show)
    app.router.add_post("/pay/{id}", pay)
    app.router.add_route("*", "/{tail:.*}", passthrough)
    return app


if __name__ == "__main__":
    port, localstripe_url, hook_secret = sys.argv[1:4]
    web.run_app(
        make_app(localstripe_url, hook_secret),
        host="127.0.0.1",
        port=int(port),
        print=None,
    )
