"""Dead letters in admin and on the command line (the worker path is in test_pipeline_worker)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.choices import DeadLetterStatus
from core.models import DeadLetter
from core.pipeline import TransientError
from core.services import dead_letter_record

pytestmark = pytest.mark.django_db


def _letter(**kwargs) -> DeadLetter:
    return dead_letter_record(
        task_name=kwargs.get("task_name", "notify.send_welcome_email"),
        task_id="abc",
        args=[],
        kwargs=kwargs.get("kwargs", {"user_id": 1}),
        exc=TransientError("smtp down"),
        traceback="Traceback ...",
        attempts=4,
    )


def test_dead_letter_records_what_staff_need():
    letter = _letter()
    assert (letter.queue, letter.attempts, letter.status) == ("notify", 4, DeadLetterStatus.PENDING)
    assert letter.exception_type == "core.pipeline.TransientError" and letter.error == "smtp down"


def test_admin_lists_and_replays_and_discards(client, staff, django_capture_on_commit_callbacks):
    first, second = _letter(), _letter()
    client.force_login(staff)
    changelist = reverse("admin:core_deadletter_changelist")
    page = client.get(changelist)
    assert page.status_code == 200 and b"smtp down" in page.content
    assert client.get(reverse("admin:core_deadletter_change", args=[first.pk])).status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(changelist, {"action": "replay", "_selected_action": [first.pk]})
    assert len(callbacks) == 1  # the task is sent only once the replay commits
    client.post(changelist, {"action": "discard", "_selected_action": [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == DeadLetterStatus.REPLAYED and first.replayed_task_id
    assert second.status == DeadLetterStatus.DISCARDED


def test_management_command_lists_shows_replays_and_discards(django_capture_on_commit_callbacks):
    a, b, c = _letter(), _letter(), _letter(task_name="tests.other")
    out = StringIO()
    call_command("deadletters", "list", stdout=out)
    assert "3 dead letter(s)" in out.getvalue()
    out = StringIO()
    call_command("deadletters", "show", str(a.pk), stdout=out)
    assert "Traceback" in out.getvalue() and "smtp down" in out.getvalue()
    with django_capture_on_commit_callbacks():
        call_command("deadletters", "replay", str(a.pk), stdout=StringIO())
    call_command("deadletters", "discard", "--all-pending", "--task", "tests.other", stdout=StringIO())
    assert DeadLetter.objects.get(pk=a.pk).status == DeadLetterStatus.REPLAYED
    assert DeadLetter.objects.get(pk=b.pk).status == DeadLetterStatus.PENDING
    assert DeadLetter.objects.get(pk=c.pk).status == DeadLetterStatus.DISCARDED
    with pytest.raises(CommandError):
        call_command("deadletters", "replay", str(a.pk), stdout=StringIO(), stderr=StringIO())  # not pending
    with pytest.raises(CommandError):
        call_command("deadletters", "replay", stdout=StringIO())
