from django.apps import AppConfig


class AuctionsConfig(AppConfig):
    name = "auctions"

    def ready(self):
        # A lead scored at or above its floor is listed: the auctions.open stage, queued on its own
        # queue (leads announces, it never imports auctions).
        from auctions import tasks
        from auctions.services import autobid
        from auctions.services.auctions import auction_open_scored
        from auctions.signals import auction_closing, auction_deadline_set, auction_opened
        from leads.signals import lead_accepted, lead_scored

        # The leads.score stage's task offers an accepted lead in its transaction: open it there,
        # one task and one transaction fewer; a lead not opened so goes through the queue.
        lead_accepted.connect(auction_open_scored, dispatch_uid="auctions.open_in_scoring")
        lead_scored.connect(tasks.open_auction_queue, dispatch_uid="auctions.open_auction")
        # The services announce; autobid and the tasks (which import the services) act.
        auction_deadline_set.connect(tasks.close_auction_schedule, dispatch_uid="auctions.close_auction")
        auction_opened.connect(autobid.autobid_after_open, dispatch_uid="auctions.autobid_open")
        auction_closing.connect(autobid.autobid_after_close, dispatch_uid="auctions.autobid_close")
