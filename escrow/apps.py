from django.apps import AppConfig


class EscrowConfig(AppConfig):
    name = "escrow"

    def ready(self):
        # Escrow builds on auctions: it listens for sales and extends who may read a bid log,
        # so auctions never imports escrow.
        from auctions import selectors
        from auctions.signals import sale_recorded
        from escrow.selectors_purchases import purchase_can_read_auction
        from escrow.settlement import on_sale_recorded

        sale_recorded.connect(on_sale_recorded, dispatch_uid="escrow.settle_on_sale")
        if purchase_can_read_auction not in selectors.BID_LOG_READERS:
            selectors.BID_LOG_READERS.append(purchase_can_read_auction)
