import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from accounts.services import user_welcome_email_send

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "New.Buyer@Example.com",
    "password": "a-long-enough-passphrase",
    "full_name": "New Buyer",
    "company_name": "Acme Solar",
    "time_zone": "America/Chicago",
    "is_buyer": "on",
}


def test_sign_up_creates_a_buyer_logs_in_and_queues_the_welcome_email(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("signup"), SIGNUP)
    assert response.status_code == 302 and response["Location"] == reverse("account")
    user = User.objects.get(email="new.buyer@example.com")
    assert (user.is_buyer, user.is_seller, user.is_staff) == (True, False, False)
    assert user.company_name == "Acme Solar" and user.time_zone == "America/Chicago"
    assert len(callbacks) == 1  # the email task is queued only after the account commits
    assert client.get(reverse("account")).status_code == 200


def test_sign_up_field_errors_are_shown_with_400(client):
    response = client.post(reverse("signup"), {**SIGNUP, "email": "not-an-email", "password": "123"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "email" in errors and "password" in errors
    response = client.post(reverse("signup"), {**SIGNUP, "is_buyer": ""})
    assert "at least one" in response.content.decode()
    assert not User.objects.exists()


def test_duplicate_email_is_refused_case_insensitively(client, user):
    response = client.post(reverse("signup"), {**SIGNUP, "email": user.email.upper()})
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_log_in_by_email_and_log_out(client, user):
    response = client.post(reverse("login"), {"username": user.email, "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert client.get(reverse("account")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("account")).status_code == 302  # back to the log-in page


def test_wrong_password_is_refused(client, user):
    response = client.post(reverse("login"), {"username": user.email, "password": "nope"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


def test_profile_update_sets_roles_and_time_zone(client, user):
    client.force_login(user)
    client.post(
        reverse("account"),
        {
            "form": "profile",
            "full_name": "Pat",
            "company_name": "Pat Co",
            "time_zone": "Europe/Berlin",
            "is_seller": "on",
            "is_buyer": "on",
        },
    )
    user.refresh_from_db()
    assert (user.full_name, user.time_zone, user.is_seller, user.is_buyer) == ("Pat", "Europe/Berlin", True, True)
    assert user.roles == ["seller", "buyer"]


def test_welcome_email_is_sent_once(user):
    assert user_welcome_email_send(user_id=user.pk) is True
    assert user_welcome_email_send(user_id=user.pk) is False
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]


def test_seed_demo_creates_the_documented_log_ins(client):
    call_command("seed_demo", "--password", "demo-pass-123", stdout=__import__("io").StringIO())
    call_command("seed_demo", "--password", "demo-pass-123", "--skip-verticals", stdout=__import__("io").StringIO())
    assert User.objects.filter(email__endswith="@leadengine.local").count() == 5
    assert User.objects.get(email="admin@leadengine.local").is_staff
    assert User.objects.get(email="seller@leadengine.local").is_seller
    assert User.objects.filter(email__startswith="buyer", is_buyer=True).count() == 3
    assert client.login(username="buyer1@leadengine.local", password="demo-pass-123")


def test_every_admin_changelist_and_add_page_loads(client, staff, api_key):
    from django.contrib import admin

    from core.pipeline import TransientError
    from core.services import dead_letter_record
    from tests.factories import VerticalFieldFactory

    VerticalFieldFactory()
    dead_letter_record(
        task_name="notify.send_welcome_email",
        task_id="t",
        args=[],
        kwargs={},
        exc=TransientError("x"),
        traceback="",
        attempts=4,
    )
    client.force_login(staff)
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist, {"q": "x"} if model_admin.search_fields else {})
        assert response.status_code == 200, changelist
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change


def test_admin_issues_an_api_key_and_shows_it_once(client, staff, user):
    client.force_login(staff)
    response = client.post(reverse("admin:accounts_apikey_add"), {"user": user.pk, "name": "from admin"}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    key = user.api_keys.get(name="from admin")
    assert f"le_{key.prefix}_" in text and "not shown again" in text


def test_a_sign_up_that_loses_the_race_for_its_email_gets_a_form_error_not_a_500(client, monkeypatch):
    from accounts.forms import SignUpForm

    User.objects.create_user(email="new.buyer@example.com", password="x" * 20)
    # The form's uniqueness check ran before the other sign-up committed.
    monkeypatch.setattr(SignUpForm, "clean_email", lambda self: self.cleaned_data["email"].strip().lower())
    response = client.post(reverse("signup"), SIGNUP)
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert User.objects.filter(email="new.buyer@example.com").count() == 1


@pytest.mark.parametrize(
    "url", ["/api/v1/verticals/?parent=%00", "/seller/leads/?q=%00", "/f/solar/?s=%00x", "/verticals/?x=a%00b"]
)
def test_nul_bytes_in_the_url_get_400_not_500(client, user, url):
    client.force_login(user)
    assert client.get(url).status_code == 400
