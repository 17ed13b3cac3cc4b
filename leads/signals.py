"""What leads announce: to the apps that build on them, so that the dependency keeps pointing one
way (auctions imports leads, never the reverse), and to its own tasks, so that the services never
import the tasks that act on them (no services ↔ tasks cycle)."""

from django.dispatch import Signal

# Sent after the transaction that received a lead commits, kwargs: lead_id. Its own app scores it
# (the leads.score stage; leads/apps.py connects the task that queues it).
lead_received = Signal()

# Sent after the transaction that received a batch of leads commits (leads.bulk), once for the
# batch instead of lead_received per lead, kwargs: lead_ids (its accepted leads, in order). Its own
# app queues one message that a worker fans out into the leads.score stage: publishing a task per
# lead cost the request more than storing the batch. A receiver of lead_received that must see
# every lead connects to this one too.
leads_received = Signal()

# Sent after a CSV import was confirmed and its transaction commits, kwargs: csv_import_id (the
# import stage, queued the same way).
csv_import_confirmed = Signal()

# Sent after the transaction that scored a lead at or above its vertical's floor commits,
# kwargs: lead_id, listed. Unless a receiver of lead_accepted already listed it in that
# transaction (listed=True), auctions lists it: the auctions.open stage, on its own queue.
lead_scored = Signal()

# Sent inside the scoring transaction of the leads.score stage (lead_score(list_now=True)) when
# the lead is accepted, kwargs: lead (just scored, its row locked), schema (its vertical's
# effective fields). A receiver may list the lead at once and return True; leads.listing runs the
# receivers in a savepoint, so one that raises undoes only its own work and the lead goes to the
# listing stage's queue as before (lead_scored with listed=False).
lead_accepted = Signal()

# Sent after the transaction that stored an ad platform's webhook event (or queued its replay)
# commits, kwargs: event_id. Its own app processes it on the leads.ingest queue.
ad_event_received = Signal()
