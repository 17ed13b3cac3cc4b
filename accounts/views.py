"""Account pages: sign-up, log-in, password reset, email confirmation, the account page and its API keys."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import panels, selectors, services
from accounts.forms import ApiKeyForm, EmailAuthenticationForm, ProfileForm, SignUpForm
from accounts.models import ApiKey
from core import ratelimit


def _typed_back(request, names: tuple[str, ...]) -> dict:
    """What the person typed (never a password), for an unbound form shown again: a refused
    request must not validate (log-in would authenticate, sign-up would say whether an email
    is taken), yet nobody should have to type it all again."""
    return {name: request.POST.get(name, "") for name in names if name in request.POST}


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("account")
    if request.method == "POST" and (decision := ratelimit.check(request, "signup", key="ip")) is not None:
        messages.error(
            request, f"Too many sign-ups from your network. Try again in {ratelimit.wait_text(decision.retry_after)}."
        )
        form = SignUpForm(initial=_typed_back(request, ("email", "full_name", "company_name", "time_zone")))
        return ratelimit.limited(render(request, "accounts/signup.html", {"form": form}), decision)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_sign_up(**form.cleaned_data)
        except services.EmailTaken:
            form.add_error("email", "An account with this email already exists.")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                f"Welcome to Lead Engine. Your account is ready. Confirm your email with the link we sent to {user.email}.",
            )
            return redirect("account")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        decision = ratelimit.check(request, "login", key="ip")
        if decision is None:
            return super().post(request, *args, **kwargs)
        messages.error(
            request,
            f"Too many log-in attempts from your network. Try again in {ratelimit.wait_text(decision.retry_after)}.",
        )
        form = self.authentication_form(request, initial=_typed_back(request, ("username",)))
        return ratelimit.limited(self.render_to_response(self.get_context_data(form=form)), decision)


login_view = LoginView.as_view()


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset: the same answer whether or not the address has an account (the form sends
    only to an active account with a usable password), links built on SITE_URL, never on the
    request's Host header."""

    template_name = "accounts/password_reset_form.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    success_url = reverse_lazy("password-reset-done")

    def post(self, request, *args, **kwargs):
        decision = ratelimit.check(request, "password_reset", key="ip")
        if decision is None:
            return super().post(request, *args, **kwargs)
        messages.error(
            request,
            "Too many password reset requests from your network. "
            f"Try again in {ratelimit.wait_text(decision.retry_after)}.",
        )
        form = self.form_class(initial=_typed_back(request, ("email",)))
        return ratelimit.limited(self.render_to_response(self.get_context_data(form=form)), decision)

    def form_valid(self, form):
        self.extra_email_context = {
            "site_url": settings.SITE_URL.rstrip("/"),
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        }
        return super().form_valid(form)

    def form_invalid(self, form):
        return _bad_request(super().form_invalid(form))


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's confirm step: the emailed link moves its token into the session and redirects to
    a URL without it; a used, expired or tampered link gets a 400 page that offers a new one."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        if not self.validlink and response.status_code == 200:
            response.status_code = 400
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        # The link reached the account through its address: that confirms the address too.
        services.user_email_mark_verified(user=form.user)
        return response

    def form_invalid(self, form):
        return _bad_request(super().form_invalid(form))


def _bad_request(response):
    response.status_code = 400
    return response


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)


def email_verify(request, token: str):
    """The emailed confirmation link. A GET that writes, on purpose: the signed token is the proof,
    and all it can do is confirm the address it was sent to (a mail scanner that fetches it
    proves the same delivery)."""
    valid_days = services.EMAIL_VERIFY_MAX_AGE.days
    try:
        user = services.user_email_verify(token=token)
    except services.EmailVerifyError as exc:
        return render(
            request, "accounts/email_verify.html", {"state": exc.reason, "valid_days": valid_days}, status=400
        )
    if request.user.pk == user.pk:  # this page's banner reads the session's copy of the user
        request.user.email_verified_at = user.email_verified_at
    return render(request, "accounts/email_verify.html", {"state": "confirmed", "confirmed_email": user.email})


@login_required
@require_POST
def email_verify_resend(request):
    """The banner's "send the link again" (signed-in pages, until the address is confirmed)."""
    user = request.user
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("account")
    if user.email_verified:
        messages.success(request, f"{user.email} is already confirmed.")
        return redirect(next_url)
    if (decision := ratelimit.check(request, "email_verify_resend", key="user")) is not None:
        messages.error(
            request,
            f"We have sent you several links already. Try again in {ratelimit.wait_text(decision.retry_after)}, "
            "and check your spam folder for the ones we sent.",
        )
        context = {"state": "limited", "valid_days": services.EMAIL_VERIFY_MAX_AGE.days}
        return ratelimit.limited(render(request, "accounts/email_verify.html", context), decision)
    services.user_verification_email_request(user=user)
    messages.success(
        request,
        f"We sent a new confirmation link to {user.email}. It works for {services.EMAIL_VERIFY_MAX_AGE.days} days.",
    )
    return redirect(next_url)


@login_required
def account(request):
    user = request.user
    profile_form = ProfileForm(
        request.POST if request.POST.get("form") == "profile" else None,
        initial={
            "full_name": user.full_name,
            "company_name": user.company_name,
            "time_zone": user.time_zone,
            "is_seller": user.is_seller,
            "is_buyer": user.is_buyer,
        },
    )
    if request.method == "POST" and request.POST.get("form") == "profile" and profile_form.is_valid():
        services.user_update_profile(user=user, **profile_form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("account")
    new_key = _new_key_read(request)
    response = render(
        request,
        "accounts/account.html",
        {
            "profile_form": profile_form,
            "api_key_form": ApiKeyForm(),
            "api_keys": selectors.api_key_list_for_user(user=user),
            "new_key": new_key,
            "panels": panels.account_panels_render(request),
        },
    )
    if NEW_KEY_COOKIE in request.COOKIES:
        response.delete_cookie(NEW_KEY_COOKIE, path=NEW_KEY_PATH, samesite="Strict")
    if new_key:
        add_never_cache_headers(response)
    return response


# A new API key's secret travels from the create POST to the account page it redirects to in a
# cookie encrypted for this one hop (Fernet, key derived from SECRET_KEY, 2 minutes, HttpOnly,
# SameSite=Strict, path /account/), read and deleted there: the server never stores it, not even
# in the session.
NEW_KEY_COOKIE, NEW_KEY_PATH, NEW_KEY_SECONDS = "le_new_key", "/account/", 120


def _new_key_fernet():
    import base64
    import hashlib

    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"leadengine.new-api-key-cookie:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _new_key_read(request) -> dict | None:
    import json

    from cryptography.fernet import InvalidToken

    token = request.COOKIES.get(NEW_KEY_COOKIE)
    if not token:
        return None
    try:
        data = json.loads(_new_key_fernet().decrypt(token.encode(), ttl=NEW_KEY_SECONDS))
    except (InvalidToken, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("user_id") == request.user.pk else None


@login_required
@require_POST
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the key a name (up to 100 characters).")
        return redirect("account")
    import json

    issued = services.api_key_create(user=request.user, name=form.cleaned_data["name"])
    response = redirect("account")
    token = _new_key_fernet().encrypt(
        json.dumps({"user_id": request.user.pk, "name": issued.api_key.name, "secret": issued.secret}).encode()
    )
    response.set_cookie(
        NEW_KEY_COOKIE,
        token.decode(),
        max_age=NEW_KEY_SECONDS,
        path=NEW_KEY_PATH,
        httponly=True,
        secure=request.is_secure(),
        samesite="Strict",
    )
    return response


@login_required
@require_POST
def api_key_revoke(request, api_key_id: int):
    try:
        api_key = selectors.api_key_get_for_user(user=request.user, api_key_id=api_key_id)
    except ApiKey.DoesNotExist:
        raise Http404("No such API key.") from None
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.prefix}… revoked. Requests using it now get 401.")
    return redirect("account")
