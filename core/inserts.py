"""Several new rows of different tables in one statement (PostgreSQL), for hot write paths.

`insert_together(a, b, c)` sends `WITH r0 AS (INSERT … RETURNING id), r1 AS (…) SELECT …`: one
round trip instead of one per row; every instance learns its primary key. Each INSERT is the one Django's own compiler writes for `save()` of a
new row (field preparation, defaults and auto_now included), so columns and types cannot drift
from the models. Rows must carry their primary keys (see `next_ids`) when another row refers to
them; Django's foreign keys are DEFERRABLE INITIALLY DEFERRED (checked at
commit), so a child may name its parent inserted in the same statement. No model signals are sent (callers use this only for models with
no receivers). On other databases (SQLite, the embedded profile) each row is saved in turn.
"""

from django.db import connections
from django.db.models import Model
from django.db.models.sql import InsertQuery


def _insert_sql(obj: Model, using: str) -> tuple[str, list]:
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    [(sql, params)] = query.get_compiler(using=using).as_sql()
    return sql, list(params)


def insert_together(*objs: Model, using: str = "default") -> None:
    """Insert new model instances (in this order) in one statement; they are then saved instances."""
    connection = connections[using]
    if connection.vendor != "postgresql" or len(objs) == 1:
        for obj in objs:
            obj.save(force_insert=True, using=using)
        return
    parts, params = [], []
    for obj in objs:
        sql, obj_params = _insert_sql(obj, using)
        parts.append(f"{sql} RETURNING {connection.ops.quote_name(obj._meta.pk.column)}")
        params += obj_params
    statement = (
        "WITH "
        + ", ".join(f"r{i} AS ({sql})" for i, sql in enumerate(parts))
        + " SELECT "
        + ", ".join(f"(SELECT * FROM r{i})" for i in range(len(parts)))
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        pks = cursor.fetchone()
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using


def next_id_sql(model: type[Model]) -> str:
    """An SQL expression drawing the next primary key of `model` (PostgreSQL identity/serial)."""
    table, column = model._meta.db_table, model._meta.pk.column
    return f"nextval(pg_get_serial_sequence('{table}', '{column}'))"


def copy_insert(objs, *, using: str = "default") -> None:
    """Insert new instances of one model with PostgreSQL's COPY (other databases: bulk_create).

    For batches: bulk_create on PostgreSQL binds each column as an array parameter, and Django's
    client-side binding quotes every element in Python (a quarter of a 500-lead bulk request);
    COPY streams the rows through psycopg's C row formatter. Values are prepared by each field as
    for an INSERT (pre_save with auto_now, get_db_prep_save). Rows without a primary key get the
    column's default (its sequence) and do not learn it; errors are Django's (IntegrityError…).
    No model signals are sent."""
    objs = list(objs)
    if not objs:
        return
    connection = connections[using]
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.using(using).bulk_create(objs)
        return
    meta = model._meta
    with_pk = getattr(objs[0], meta.pk.attname) is not None
    fields = [f for f in meta.local_concrete_fields if with_pk or not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
    if connection.queries_logged:  # counted like any statement (CaptureQueriesContext, DEBUG)
        connection.queries_log.append({"sql": f"{statement} -- {len(objs)} rows", "time": "0.000"})
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
