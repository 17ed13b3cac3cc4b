"""Staff's command-line view of dead letters: list, show, replay, discard."""

from django.core.management.base import BaseCommand, CommandError

from core import selectors, services
from core.models import DeadLetter


class Command(BaseCommand):
    help = "List, show, replay or discard dead-lettered pipeline tasks."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List dead letters (pending by default).")
        listing.add_argument("--status", default="pending", help="pending, replayed, discarded or all")
        listing.add_argument("--task", help="Only this task name.")
        show = sub.add_parser("show", help="Show one dead letter with its traceback.")
        show.add_argument("id", type=int)
        for name in ("replay", "discard"):
            action = sub.add_parser(name, help=f"{name.capitalize()} dead letters by id, or every pending one.")
            action.add_argument("ids", nargs="*", type=int)
            action.add_argument("--all-pending", action="store_true")
            action.add_argument("--task", help="With --all-pending: only this task name.")

    def handle(self, *args, action: str, **options):
        getattr(self, f"_{action}")(**options)

    def _list(self, status: str, task: str | None, **_):
        letters = selectors.dead_letter_list(status=None if status == "all" else status)
        if task:
            letters = letters.filter(task_name=task)
        rows = list(letters[:500])
        for letter in rows:
            self.stdout.write(
                f"{letter.pk:>6}  {letter.status:<9} {letter.task_name:<36} {letter.queue:<16} "
                f"attempts={letter.attempts} last={letter.last_failed_at:%Y-%m-%d %H:%M:%S}  "
                f"{letter.exception_type.rsplit('.', 1)[-1]}: {letter.error[:60]}"
            )
        self.stdout.write(f"{len(rows)} dead letter(s).")

    def _show(self, id: int, **_):  # noqa: A002 - the argument is called id
        try:
            letter = DeadLetter.objects.get(pk=id)
        except DeadLetter.DoesNotExist:
            raise CommandError(f"No dead letter {id}.") from None
        for name in (
            "task_name",
            "task_id",
            "queue",
            "status",
            "attempts",
            "args",
            "kwargs",
            "exception_type",
            "error",
            "correlation_id",
            "first_failed_at",
            "last_failed_at",
            "resolved_at",
            "replayed_task_id",
        ):
            self.stdout.write(f"{name:>16}: {getattr(letter, name)}")
        self.stdout.write(letter.traceback)

    def _apply(self, service, verb: str, ids: list[int], all_pending: bool, task: str | None):
        if not ids and not all_pending:
            raise CommandError("Give dead letter ids, or --all-pending.")
        if all_pending:
            pending = selectors.dead_letter_list()
            ids = list((pending.filter(task_name=task) if task else pending).values_list("pk", flat=True))
        failures = 0
        for letter_id in ids:
            try:
                service(dead_letter_id=letter_id)
                self.stdout.write(f"{verb} {letter_id}")
            except (DeadLetter.DoesNotExist, ValueError) as exc:
                failures += 1
                self.stderr.write(f"{letter_id}: {exc}")
        if failures:
            raise CommandError(f"{failures} of {len(ids)} could not be {verb.lower()}.")

    def _replay(self, ids, all_pending, task=None, **_):
        self._apply(services.dead_letter_replay, "Replayed", ids, all_pending, task)

    def _discard(self, ids, all_pending, task=None, **_):
        self._apply(services.dead_letter_discard, "Discarded", ids, all_pending, task)
