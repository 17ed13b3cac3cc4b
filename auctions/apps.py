from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"

    def ready(self):
        # Register the tasks in every process: leads sends "auctions.open_auction" by name
        # (it never imports auctions), and an eager (embedded) run needs the task registered.
        from auctions import tasks  # noqa: F401
