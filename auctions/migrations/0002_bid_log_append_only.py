"""The bid log is append-only: PostgreSQL refuses UPDATE and DELETE on auctions_bid.

(SQLite, the embedded profile, has no such trigger; the hash chain still exposes tampering.)
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION auctions_bid_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'auctions_bid is append-only (the bid log): % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS auctions_bid_append_only ON auctions_bid;
CREATE TRIGGER auctions_bid_append_only BEFORE UPDATE OR DELETE ON auctions_bid
    FOR EACH ROW EXECUTE FUNCTION auctions_bid_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS auctions_bid_append_only ON auctions_bid;
DROP FUNCTION IF EXISTS auctions_bid_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("auctions", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
