"""Events of instrument PCs and power meters (/api/v1/devices/events).

A device authenticates with its own token (`shd_…`, issued by the lab per unit under
Lab → Kiosks and devices), which does nothing else: user tokens are refused here, and a
device token is refused everywhere else (it is no API token).

Ordering rules: an event id seen before is answered as before (200, `duplicate`), or 409
when sent again with other content. A start and a stop of one `session` pair into a usage
record whichever arrives first: a stop that arrives before its start is kept (`waiting`)
and paired when the start comes. A stop earlier than its session's start (or more than a
month after it) is refused as a conflict with the stored event (409), and so is a second
start or stop of a session. An event in the future is refused (400).
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from sharehub.api import schemas as s
from sharehub.api.blueprint import Blueprint
from sharehub.api.problems import ApiProblem
from sharehub.booking import capture
from sharehub.booking.models import DeviceKind
from sharehub.core.tx import commit

devices = Blueprint(
    "api_devices",
    __name__,
    url_prefix="/api/v1",
    description="Start and stop events of a unit's instrument PC or power meter (device token)",
)
BLUEPRINTS = (devices,)
DEVICE = [{"deviceToken": []}]


def _device():
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    device = None
    if scheme.lower() == "bearer":
        device = capture.authenticate(value.strip(), DeviceKind.METER)
    if device is None:
        raise ApiProblem(
            401,
            "invalid-device-token",
            _("Send the device's token: Authorization: Bearer shd_…"),
            {"WWW-Authenticate": 'Bearer realm="ShareHub devices"'},
        )
    return device


@devices.route("/devices/events", methods=["POST"])
@devices.doc(security=DEVICE)
@devices.arguments(s.DeviceEventCreate)
@devices.response(201, s.DeviceEventSchema)
@devices.alt_response(200, schema=s.DeviceEventSchema, description="Received before")
@devices.alt_response(401, description="No usable device token")
@devices.alt_response(403, description="Another unit's event")
@devices.alt_response(
    409,
    description="Event id reused with other content; the session has this event already; "
    "its stop lies before its start or more than a month after it",
)
@devices.alt_response(400, description="The event lies in the future")
def post_event(data: dict):
    """Post a start or stop of a session on the device's unit"""
    device = _device()
    result = capture.post_event(
        device,
        event_id=data["event_id"],
        session=data["session"],
        kind=data["kind"],
        at=data["at"],
        unit_id=data.get("unit_id"),
    )
    body = {
        "event_id": result.event.event_id,
        "session": result.event.session,
        "kind": result.event.kind,
        "at": result.event.at_dt,
        "unit_id": device.unit_id,
        "duplicate": result.duplicate,
        "status": "paired" if result.event.usage_record_id else "waiting",
        "usage_record_id": result.event.usage_record_id,
    }
    commit()
    return body, 200 if result.duplicate else 201
