"""Forms of the accounts pages; labels are lazy so they follow the page language."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import Email, EqualTo, InputRequired, Length, Optional, Regexp

from sharehub.accounts.models import OrgKind, Role
from sharehub.core.forms import coerce_optional_int
from sharehub.core.security import plain_text

PHONE = Regexp(r"^[0-9+\- ()]{5,32}$", message=_l("Enter a phone number (digits, +, -)."))
COMMON_TIMEZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
]


class SigninForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[InputRequired()])
    remember = BooleanField(_l("Keep me signed in"))
    submit = SubmitField(_l("Sign in"))


class SignupForm(FlaskForm):
    kind = RadioField(
        _l("I register"),
        choices=[
            SelectChoice("enterprise", _l("an enterprise (to book services)")),
            SelectChoice("lab", _l("a laboratory (to share equipment, experts and data)")),
        ],
        default="enterprise",
        validators=[InputRequired()],
    )
    org_name = StringField(
        _l("Organisation name (Chinese)"), validators=[plain_text, InputRequired(), Length(max=200)]
    )
    org_name_en = StringField(
        _l("Organisation name (English)"), validators=[plain_text, Optional(), Length(max=200)]
    )
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[
            InputRequired(),
            Length(min=18, max=18, message=_l("The code has 18 characters.")),
        ],
        description=_l("18 characters, as printed on the business licence."),
    )
    region_id = SelectField(
        _l("City"),
        coerce=coerce_optional_int,
        validators=[InputRequired(message=_l("Choose a city."))],
    )
    cluster_id = SelectField(
        _l("Industrial cluster"), coerce=coerce_optional_int, validators=[Optional()]
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    is_sme = BooleanField(_l("We are a small or medium-sized enterprise"))
    host_name = StringField(
        _l("Host organisation (university, institute or company)"),
        validators=[plain_text, Optional(), Length(max=200)],
    )
    cnas_number = StringField(
        _l("CNAS accreditation number"),
        validators=[Optional(), Length(max=32)],
        description=_l("For example CNAS L1234"),
    )
    cma_number = StringField(_l("CMA certificate number"), validators=[Optional(), Length(max=32)])
    documents = MultipleFileField(
        _l("Accreditation documents"),
        description=_l("PDF, JPEG, PNG or WebP; at most 10 MB each."),
    )
    contact_name = StringField(
        _l("Contact person"), validators=[plain_text, InputRequired(), Length(max=100)]
    )
    contact_phone = TelField(_l("Contact phone"), validators=[InputRequired(), PHONE])
    name = StringField(_l("Your name"), validators=[plain_text, InputRequired(), Length(max=100)])
    email = EmailField(_l("Your email"), validators=[InputRequired(), Email(), Length(max=254)])
    phone = TelField(_l("Your phone"), validators=[Optional(), PHONE])
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(min=10)],
        description=_l("At least 10 characters."),
    )
    password2 = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create account"))


class ForgotForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Email()])
    submit = SubmitField(_l("Email me a reset link"))


class ResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), Length(min=10)])
    password2 = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set new password"))


class ChangePasswordForm(ResetForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()])
    submit = SubmitField(_l("Change password"))


class ProfileForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[plain_text, InputRequired(), Length(max=100)])
    phone = TelField(_l("Phone"), validators=[Optional(), PHONE])
    locale = SelectField(
        _l("Language"), choices=[SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")]
    )
    timezone = SelectField(_l("Time zone"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = set(COMMON_TIMEZONES)
        current = kwargs.get("obj")
        if current is not None and current.timezone in available_timezones():
            zones.add(current.timezone)
        self.timezone.choices = [SelectChoice(z) for z in COMMON_TIMEZONES] + [
            SelectChoice(z) for z in sorted(zones - set(COMMON_TIMEZONES))
        ]


ROLE_CHOICES = [
    SelectChoice(Role.MEMBER.value, _l("Member")),
    SelectChoice(Role.MANAGER.value, _l("Manager")),
    SelectChoice(Role.OWNER.value, _l("Owner")),
    SelectChoice(Role.INSPECTOR.value, _l("Inspector")),
]


def role_choices(org) -> list[SelectChoice]:
    """Inspectors exist in authorities only (README, "Supervision roles")."""
    if org is not None and org.kind == OrgKind.AUTHORITY:
        return list(ROLE_CHOICES)
    return [c for c in ROLE_CHOICES if c.value != Role.INSPECTOR.value]


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.MEMBER.value)
    submit = SubmitField(_l("Send invitation"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    submit = SubmitField(_l("Change"))


class OrganisationForm(FlaskForm):
    name = StringField(
        _l("Organisation name (Chinese)"), validators=[plain_text, InputRequired(), Length(max=200)]
    )
    name_en = StringField(
        _l("Organisation name (English)"), validators=[plain_text, Optional(), Length(max=200)]
    )
    region_id = SelectField(_l("City"), coerce=coerce_optional_int, validators=[InputRequired()])
    cluster_id = SelectField(
        _l("Industrial cluster"), coerce=coerce_optional_int, validators=[Optional()]
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    contact_name = StringField(
        _l("Contact person"), validators=[plain_text, InputRequired(), Length(max=100)]
    )
    contact_phone = TelField(_l("Contact phone"), validators=[InputRequired(), PHONE])
    contact_email = EmailField(_l("Contact email"), validators=[Optional(), Email()])
    # Laboratories only: the host organisation (依托单位), by its credit code.
    host_credit_code = StringField(
        _l("Host organisation: unified social credit code"),
        validators=[Optional(), Length(max=18)],
        description=_l(
            "The university, institute or firm the laboratory belongs to, registered on the "
            "platform. It and its departments and groups use the internal price and count "
            "as internal use. Leave empty if there is none."
        ),
    )
    submit = SubmitField(_l("Save"))
