"""Sign-up, sign-in, email confirmation, passwords and profile."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from sharehub.accounts import services
from sharehub.accounts.blueprint import bp
from sharehub.accounts.forms import (
    ChangePasswordForm,
    ForgotForm,
    ProfileForm,
    ResetForm,
    SigninForm,
    SignupForm,
)
from sharehub.accounts.models import OrgKind
from sharehub.accounts.queries import city_choices, cluster_choices
from sharehub.accounts.session import find_user_by_email
from sharehub.core.actions import refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.forms import safe_next
from sharehub.core.i18n import LOCALE_COOKIE, SESSION_LANG, supported_locales
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload
from sharehub.extensions import db, limiter


def _signin_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _only_post(_=None) -> bool:
    return request.method != "POST"


def _form_page(template: str, form, **context):
    """A form's page; 400 when the form did not validate."""
    return render_template(template, form=form, **context), 400 if form.errors else 200


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = SignupForm()
    form.region_id.choices = city_choices()
    form.cluster_id.choices = cluster_choices()
    if request.method == "GET" and request.args.get("kind") in ("lab", "enterprise"):
        form.kind.data = request.args["kind"]

    def again():
        return _form_page("accounts/signup.html", form)

    if form.validate_on_submit():
        try:
            documents = [
                services.UploadedDocument(*read_upload(f, current_app.config["MAX_DOCUMENT_BYTES"]))
                for f in form.documents.data or []
                if f and f.filename
            ]
            services.signup(
                services.SignupData(
                    kind=OrgKind(form.kind.data),
                    email=form.email.data,
                    password=form.password.data,
                    name=form.name.data,
                    phone=form.phone.data or "",
                    locale=_page_locale(),
                    org_name=form.org_name.data,
                    org_name_en=form.org_name_en.data or "",
                    credit_code=form.credit_code.data,
                    region_id=form.region_id.data,
                    cluster_id=form.cluster_id.data,
                    contact_name=form.contact_name.data,
                    contact_phone=form.contact_phone.data,
                    address=form.address.data or "",
                    is_sme=form.is_sme.data,
                    cnas_number=form.cnas_number.data or "",
                    cma_number=form.cma_number.data or "",
                    host_name=form.host_name.data or "",
                    documents=documents,
                )
            )
        except DomainError as exc:
            if isinstance(exc, ValidationError) and not exc.field:  # an unreadable document
                exc.field = "documents"
            return refused(exc, again, form=form)
        commit()
        return render_template("accounts/check_email.html", email=form.email.data.lower())
    return again()


def _page_locale() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


@bp.route("/verify/<token>")
def verify_email(token: str):
    try:
        user = services.verify_email(token)
    except DomainError as exc:
        db.session.rollback()
        return render_template("accounts/link_problem.html", message=exc.message), exc.status
    commit()
    flash(_("Your email address is confirmed. You can sign in now."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return redirect(url_for("accounts.signin", email=user.email))


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(_reset_limit, exempt_when=_only_post)
def resend_verification():
    form = ForgotForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if user is not None and not user.is_verified:
            services.send_verification(user)
            commit()
        flash(_("If an unconfirmed account uses this address, a new link is on its way."), "info")
        return redirect(url_for("accounts.signin"))
    return _form_page("accounts/resend.html", form)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(_signin_limit, exempt_when=_only_post)
def signin():
    if current_user.is_authenticated:
        return redirect(safe_next())
    form = SigninForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"]
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            commit()  # keeps the audit entry of a failed attempt
            flash(str(exc.message), "danger")
            return render_template("accounts/signin.html", form=form), 400
        commit()
        login_user(user, remember=form.remember.data)
        response = redirect(safe_next())
        # A language chosen on this visit before signing in stays for the session; the
        # page offers to make it the profile's (core.views.set_language does that).
        chosen, lang = session.get("lang"), user.locale
        if chosen in supported_locales() and chosen != user.locale:
            session[SESSION_LANG] = lang = chosen
            flash(chosen, "language-offer")
        response.set_cookie(
            LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
        return response
    return render_template("accounts/signin.html", form=form), 400 if form.errors else 200


@bp.route("/signout", methods=["POST"])
def signout():
    if current_user.is_authenticated:
        services.sign_out(current_user._get_current_object())
        commit()
    logout_user()
    session.pop(SESSION_LANG, None)
    flash(_("You have signed out."), "info")
    return redirect(url_for("core.home"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, exempt_when=_only_post)
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        commit()
        flash(
            _(
                "If an account uses this address, we have emailed a link to reset the password. "
                "The link works for two hours."
            ),
            "info",
        )
        return redirect(url_for("accounts.signin"))
    return _form_page("accounts/forgot.html", form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, exempt_when=_only_post)
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except DomainError as exc:
        return render_template("accounts/link_problem.html", message=exc.message), exc.status
    form = ResetForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as exc:
            return refused(exc, lambda: _form_page("accounts/reset.html", form), form=form)
        commit()
        logout_user()
        flash(_("Your password has been changed. Sign in with the new one."), "success")
        return redirect(url_for("accounts.signin"))
    return _form_page("accounts/reset.html", form)


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            services.update_profile(
                current_user,
                name=form.name.data,
                phone=form.phone.data or "",
                locale=form.locale.data,
                timezone=form.timezone.data,
            )
        except DomainError as exc:
            return refused(exc, lambda: _form_page("accounts/profile.html", form), form=form)
        commit()
        flash(_("Your profile has been saved."), "success")
        response = redirect(url_for("accounts.profile"))
        response.set_cookie(
            LOCALE_COOKIE,
            current_user.locale,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
        )
        return response
    return _form_page("accounts/profile.html", form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except DomainError as exc:
            return refused(exc, lambda: _form_page("accounts/password.html", form), form=form)
        commit()
        # The session id changed with the password: sign in again on this device only.
        login_user(current_user._get_current_object())
        flash(_("Your password has been changed. Other devices have been signed out."), "success")
        return redirect(url_for("accounts.profile"))
    return _form_page("accounts/password.html", form)
