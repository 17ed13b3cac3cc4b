from django.apps import AppConfig


class EscrowConfig(AppConfig):
    name = "escrow"

    def ready(self):
        # Escrow builds on auctions and chain: it listens for sales and linked wallets and extends who
        # may read a bid log, so neither imports escrow.
        from auctions.selectors import auctions as auction_selectors
        from auctions.signals import FUNDS_CHECKS, sale_recorded
        from chain.signals import wallet_linked
        from escrow.selectors.disputes import dispute_reputation_facts
        from escrow.selectors.purchases import purchase_can_read_auction
        from escrow.services.exits import exit_funds_check
        from escrow.services.sweeps import on_wallet_linked
        from escrow.signals import dispute_refund_decided
        from escrow.tasks.disputes import dispute_apply_queue
        from escrow.tasks.settlement import settle_sale_schedule

        sale_recorded.connect(settle_sale_schedule, dispatch_uid="escrow.settle_on_sale")
        dispute_refund_decided.connect(dispute_apply_queue, dispatch_uid="escrow.dispute_apply")
        wallet_linked.connect(on_wallet_linked, dispatch_uid="escrow.sweep_on_link")
        if exit_funds_check not in FUNDS_CHECKS:
            FUNDS_CHECKS.append(exit_funds_check)
        from leads.seller_reputation import DISPUTE_FACTS

        if dispute_reputation_facts not in DISPUTE_FACTS:
            DISPUTE_FACTS.append(dispute_reputation_facts)
        if purchase_can_read_auction not in auction_selectors.BID_LOG_READERS:
            auction_selectors.BID_LOG_READERS.append(purchase_can_read_auction)
