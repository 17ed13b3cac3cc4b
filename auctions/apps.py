from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"

    def ready(self):
        # A lead scored at or above its floor is listed: the auctions.open stage, queued on its own
        # queue (leads announces, it never imports auctions).
        from auctions import tasks
        from leads.signals import lead_scored

        lead_scored.connect(tasks.open_auction_queue, dispatch_uid="auctions.open_auction")
