"""notify: stored once per key, by the channels the user chose, emailed through real SMTP."""

from decimal import Decimal

import pytest

from notifications import selectors, services
from notifications.choices import Channels, EmailStatus, NotificationEvent
from notifications.models import Notification
from tests.factories import UserFactory
from tests.mail import parts

pytestmark = pytest.mark.django_db

E = NotificationEvent


def _notify(user, event=E.WON, key="k1", **kwargs):
    return services.notify(
        user_id=user.pk, event=event, title=kwargs.pop("title", "You won auction 7"), key=key, **kwargs
    )


def test_notify_twice_with_the_same_key_stores_once(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks():
        first = _notify(user)
        second = _notify(user)
    assert first is not None and second is None
    assert Notification.objects.filter(user=user).count() == 1
    # The same key for another user is another notification.
    other = UserFactory()
    assert _notify(other) is not None


def test_notify_without_a_key_stores_every_call():
    user = UserFactory()
    services.notify(user_id=user.pk, event=E.LOST, title="Lost")
    services.notify(user_id=user.pk, event=E.LOST, title="Lost")
    assert selectors.unread_count(user_id=user.pk) == 2


def test_defaults_apply_without_a_preference_row(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks():
        outbid = _notify(user, event=E.OUTBID, key="o")
        won = _notify(user, event=E.WON, key="w")
    assert outbid.in_app and outbid.email_status == EmailStatus.NONE  # outbid: in the app only
    assert won.in_app and won.email_status == EmailStatus.QUEUED


def test_in_app_off_keeps_the_row_out_of_the_list_but_emails_it(smtp_inbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    services.preferences_update(user=user, choices={E.WON: Channels(in_app=False, email=True)})
    with django_capture_on_commit_callbacks(execute=True):
        row = _notify(user)
    assert row is not None and not row.in_app
    assert selectors.unread_count(user_id=user.pk) == 0
    assert list(selectors.notification_list_for(user=user)) == []
    assert len(smtp_inbox.to(user.email)) == 1


def test_every_channel_off_stores_nothing(django_capture_on_commit_callbacks):
    user = UserFactory()
    services.preferences_update(user=user, choices={E.WON: Channels(in_app=False, email=False)})
    with django_capture_on_commit_callbacks(execute=True):
        assert _notify(user) is None
    assert not Notification.objects.filter(user=user).exists()


def test_email_goes_through_smtp_with_text_html_and_one_click_unsubscribe(
    smtp_inbox, django_capture_on_commit_callbacks
):
    user = UserFactory(email="buyer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        row = _notify(user, title="You won auction 7", body="Price 12.00 USDC.", url="/my/wins/")
    [message] = smtp_inbox.to("buyer@example.com")
    assert message["Subject"] == "Lead Engine: You won auction 7"
    text, html = parts(message)
    assert "Price 12.00 USDC." in text and "https://leads.example/my/wins/" in text
    assert "Price 12.00 USDC." in html and 'href="https://leads.example/my/wins/"' in html
    token = services.unsubscribe_token(user_id=user.pk, event=E.WON)
    link = f"https://leads.example/notifications/unsubscribe/{token}/"
    assert message["List-Unsubscribe"].strip() == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text and link in html
    row.refresh_from_db()
    assert row.email_status == EmailStatus.SENT and row.emailed_at is not None


def test_email_task_is_idempotent(smtp_inbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        row = _notify(user)
    assert services.notification_email_send(notification_id=row.pk) is False
    assert len(smtp_inbox.to(user.email)) == 1


def test_email_turned_off_after_queueing_is_not_sent(smtp_inbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False):
        row = _notify(user)
    services.notification_unsubscribe(user_id=user.pk, event=E.WON)
    assert services.notification_email_send(notification_id=row.pk) is False
    assert smtp_inbox.to(user.email) == []
    row.refresh_from_db()
    assert row.email_status == EmailStatus.NONE and row.in_app


def test_unsubscribe_token_is_signed_and_names_user_and_event():
    token = services.unsubscribe_token(user_id=5, event=E.LEAD_SOLD)
    assert services.unsubscribe_token_read(token) == (5, "lead_sold")
    assert services.unsubscribe_token_read(token[:-2] + ("A" if token[-1] != "A" else "B") + token[-1]) is None
    assert services.unsubscribe_token_read("garbage") is None
    assert services.unsubscribe_token_read("") is None


def test_digest_collapses_many_sales_into_one_email(smtp_inbox, django_capture_on_commit_callbacks):
    seller = UserFactory(is_seller=True)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            _notify(seller, event=E.LEAD_SOLD, key=f"sale:{n}", title=f"Lead {n} sold", url=f"/seller/leads/{n}/")
    assert smtp_inbox.to(seller.email) == []  # waits for the digest
    assert selectors.unread_count(user_id=seller.pk) == 5  # in the app, one per sale
    assert services.digest_send_due() == 1
    [message] = smtp_inbox.to(seller.email)
    assert "5 × lead sold" in message["Subject"]
    text, html = parts(message)
    assert all(f"Lead {n} sold" in text and f"Lead {n} sold" in html for n in range(5))
    assert "List-Unsubscribe" in message
    assert services.digest_send_due() == 0  # nothing left: sent once
    assert not Notification.objects.filter(email_status=EmailStatus.DIGEST).exists()


def test_digest_skips_a_seller_who_turned_the_email_off(smtp_inbox, django_capture_on_commit_callbacks):
    seller = UserFactory(is_seller=True)
    with django_capture_on_commit_callbacks(execute=True):
        _notify(seller, event=E.LEAD_SOLD, key="sale:1")
    services.notification_unsubscribe(user_id=seller.pk, event=E.LEAD_SOLD)
    assert services.digest_send_due() == 0
    assert smtp_inbox.to(seller.email) == []


def test_mark_read_and_mark_all_read():
    user = UserFactory()
    rows = [_notify(user, key=f"k{n}") for n in range(3)]
    services.notification_mark_read(user=user, notification_id=rows[0].pk)
    assert selectors.unread_count(user_id=user.pk) == 2
    with pytest.raises(Notification.DoesNotExist):
        services.notification_mark_read(user=UserFactory(), notification_id=rows[1].pk)
    assert services.notification_mark_all_read(user=user) == 2
    assert selectors.unread_count(user_id=user.pk) == 0


def test_low_balance_fires_once_per_crossing():
    buyer = UserFactory(is_buyer=True)
    services.preferences_update(user=buyer, choices={}, low_balance_threshold=Decimal("50"), threshold=True)
    check = services.low_balance_check
    assert check(user_id=buyer.pk, before=Decimal("80"), after=Decimal("60"), key="t1") is None  # above
    assert check(user_id=buyer.pk, before=Decimal("60"), after=Decimal("40"), key="t2") is not None  # crossed
    assert check(user_id=buyer.pk, before=Decimal("40"), after=Decimal("30"), key="t3") is None  # still below
    assert check(user_id=buyer.pk, before=Decimal("90"), after=Decimal("10"), key="t4") is not None  # again
    assert Notification.objects.filter(user=buyer, event=E.LOW_BALANCE).count() == 2


def test_no_threshold_no_low_balance():
    buyer = UserFactory(is_buyer=True)
    assert services.low_balance_check(user_id=buyer.pk, before=Decimal("9"), after=Decimal("0"), key="t") is None
