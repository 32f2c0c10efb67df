"""Forms of the booking pages. Fields keep the names the pages post; numbers, times and
choices are read by `core.inputs`' parsers, so a refusal says the same as everywhere."""

from __future__ import annotations

from datetime import timedelta

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import CombinedMultiDict
from wtforms import BooleanField, StringField, TextAreaField

from sharehub.booking.models import ServiceWay
from sharehub.booking.series import MAX_WEEKS
from sharehub.booking.services import BookingRequest
from sharehub.core.forms import (
    ChoiceOf,
    IdField,
    LocalTimeField,
    Required,
    TypedField,
    WholeNumberField,
)

MAX_BOOKING_MINUTES = 60 * 24 * 31
MAX_SAMPLES = 100_000

CHOOSE_TIME = _l("Choose a start time and a duration.")
TIME_TEXT = _l("Write the time as YYYY-MM-DD HH:MM.")
SERVICE_WAY = _l("Choose how the service was given.")


def Minutes(label=None, validators=None, **kwargs):
    return WholeNumberField(label, validators, maximum=MAX_BOOKING_MINUTES, **kwargs)


def Samples(label=None, validators=None, **kwargs):
    return WholeNumberField(label, validators, maximum=MAX_SAMPLES, **kwargs)


def Way(label=None):
    return TypedField(
        label, parse=ChoiceOf(ServiceWay, SERVICE_WAY, default=ServiceWay.ON_SITE.value)
    )


class SlotForm(FlaskForm):
    """A start and a length: the waiting list, and the base of a booking request."""

    start = LocalTimeField(_l("Start"), [Required(CHOOSE_TIME)])
    minutes = WholeNumberField(
        _l("Duration"), [Required(CHOOSE_TIME)], minimum=1, maximum=MAX_BOOKING_MINUTES
    )


class BookingRequestForm(SlotForm):
    """What the customer asks for, from the calendar (GET) or the review page (POST)."""

    unit_id = IdField(_l("Unit"))
    purpose = StringField(_l("Purpose of the test"), default="")
    sample_description = StringField(_l("Samples (material, size, preparation)"), default="")
    sample_count = Samples(_l("Number of samples"), empty=0)
    contact_name = StringField(_l("Contact person"), default="")
    contact_phone = StringField(_l("Contact phone"), default="")
    assisted = BooleanField(_l("With a staff operator"), false_values=("", "0", "false"))
    funding_account_id = IdField(_l("Funding account"))

    def booking_request(self) -> BookingRequest:
        start = self.start.data
        return BookingRequest(
            starts_dt=start,
            ends_dt=start + timedelta(minutes=self.minutes.data),
            unit_id=self.unit_id.data,
            purpose=self.purpose.data,
            sample_description=self.sample_description.data,
            sample_count=self.sample_count.data,
            contact_name=self.contact_name.data,
            contact_phone=self.contact_phone.data,
            assisted=bool(self.assisted.data),
            funding_account_id=self.funding_account_id.data,
        )


def from_page(form_class):
    """The form posted (its address may carry the request too, as the review page's link
    does), or on GET the one in the address (a link from the calendar)."""
    if request.method == "POST":
        return form_class(formdata=CombinedMultiDict([request.form, request.args]))
    return form_class(formdata=request.args, meta={"csrf": False})


class SeriesForm(BookingRequestForm):
    weeks = WholeNumberField(_l("Weeks"), maximum=MAX_WEEKS, empty=0)


class MoveForm(FlaskForm):
    """A new time for a booking (rescheduled or proposed); the length stays unless given."""

    start = LocalTimeField(_l("New start"), [Required(CHOOSE_TIME)])
    minutes = WholeNumberField(_l("Minutes"), minimum=1, maximum=MAX_BOOKING_MINUTES)


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), default="")


class DeclineForm(ReasonForm):
    for_capacity = BooleanField(_l("Declined for lack of capacity"), false_values=("", "0"))


class CheckInForm(FlaskForm):
    started = LocalTimeField(_l("Actual start (blank: now)"), unreadable=TIME_TEXT)


class CheckOutForm(FlaskForm):
    ended = LocalTimeField(_l("Actual end (blank: now)"), unreadable=TIME_TEXT)
    prep_minutes = Minutes(_l("Preparation (min)"), empty=0)
    run_minutes = Minutes(_l("Run (min)"))
    post_minutes = Minutes(_l("Post-processing (min)"), empty=0)
    samples = Samples(_l("Samples processed"), empty=0)
    service_way = Way(_l("Service way"))
    notes = StringField(_l("Notes"), default="")


USAGE_TIME = _l("Check the times (YYYY-MM-DD HH:MM) and the minutes.")


class UsageForm(FlaskForm):
    """Internal use logged by the lab, and the correction of a usage record."""

    started = LocalTimeField(_l("From"), [Required(USAGE_TIME)], unreadable=USAGE_TIME)
    ended = LocalTimeField(_l("Until"), [Required(USAGE_TIME)], unreadable=USAGE_TIME)
    prep_minutes = Minutes(_l("Preparation (min)"), empty=0)
    run_minutes = Minutes(_l("Run (min)"), empty=0)
    post_minutes = Minutes(_l("Post-processing (min)"), empty=0)
    samples = Samples(_l("Samples processed"), empty=0)
    service_way = Way(_l("Service way"))
    notes = StringField(_l("Notes"), default="")


class CorrectUsageForm(UsageForm):
    """A correction: the record as it should be, and why (kept with the new record)."""

    reason = StringField(_l("Reason for the correction"), default="")


class LogUsageForm(UsageForm):
    unit_id = IdField(_l("Unit"), [Required(_l("Choose one of your units."))])
    served_org = StringField(_l("Organisation served (credit code)"), default="")
    served_user = StringField(_l("Person served (email)"), default="")


class AccessRequestForm(FlaskForm):
    purpose = StringField(_l("Purpose"), default="")


class ExternalCalendarForm(FlaskForm):
    unit_id = IdField(_l("Unit"))
    name = StringField(_l("Name"), default="")
    url = StringField(_l("Address (URL)"), default="", filters=[lambda v: (v or "").strip()])


class DeviceForm(FlaskForm):
    """A kiosk or device issued for one of the lab's units."""

    unit_id = IdField(_l("Unit"), [Required(_l("Choose one of your units."))])
    kind = StringField(_l("Kind"), default="kiosk")
    name = StringField(_l("Name"), default="")


class KioskTokenForm(FlaskForm):
    token = StringField(_l("Device token"), default="")


class KioskScanForm(FlaskForm):
    code = StringField(_l("Booking code"), default="")
    pin = StringField(_l("PIN"), default="")


class MessageForm(FlaskForm):
    """A message in a thread: text, files or both (the service says which is missing)."""

    body = TextAreaField(_l("Message"))
    files = MultipleFileField(_l("Attachments (PDF or images, up to 10 MB each)"))
