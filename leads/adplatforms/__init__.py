"""Leads from ad platforms' lead forms: Google Ads lead form webhooks and Meta Lead Ads.

connections.py  the seller's connections: secrets (sealed), form ids, the field mapping
hooks.py        the inbound webhooks: authenticate, store the event first, answer
processing.py   an event → lead_submit (the same validation, dedupe, caps and scoring), replay
graph.py        Meta's Graph API client (fetch a lead by leadgen_id)
fake_graph.py   the local fake Graph server for development and the tests
"""
