"""CSV lead imports: upload, column mapping, preview and the resumable import run.

Every row goes through lead_submit (source "csv"), so a CSV row is validated, deduped and
capped exactly as an API submission is. Error reports name rows, columns and fields, never
a row's values: they may be personal data.

Row numbers count records as a spreadsheet shows them: the header is row 1, the first data
row is row 2; blank rows keep their number but are skipped.
"""

import csv
import io
import os
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.pipeline import TRANSIENT_ERRORS
from leads.choices import CsvImportStatus, LeadSource
from leads.models import CsvImport, CsvImportCheckError, CsvImportRowError
from leads.notices import import_finished_notify
from leads.services import Outcome, SchemaCache, lead_submit
from leads.signals import csv_import_confirmed
from leads.validation import LeadInvalid, check_lead_input
from verticals.choices import VerticalStatus
from verticals.models import Vertical

CHUNK_ROWS = 100  # rows per transaction of csv_import_run; a killed worker redoes at most one chunk
PREVIEW_ROWS = 10
ALLOWED_EXTENSIONS = (".csv", ".txt")
DELIMITERS = (",", ";", "\t")
# Magic numbers of files sellers upload by mistake (xlsx/zip, xls, PDF, images, gzip).
_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b")
_NORMALIZE = re.compile(r"[^a-z0-9]")


class CsvImportInvalid(Exception):
    """A refused upload or mapping; `errors` maps a form field ("file", "consent_text", …) to messages."""

    def __init__(self, errors: dict[str, list[str]] | str):
        super().__init__("CSV import refused")
        self.errors = {"file": [errors]} if isinstance(errors, str) else errors


# ---------------------------------------------------------------- targets and mapping


@dataclass(frozen=True)
class Target:
    key: str  # "first_name", "consent_ip", "fields.roof_type", …
    label: str
    required: bool = False
    help_text: str = ""
    aliases: tuple = ()


LEAD_TARGETS = (
    Target("first_name", "First name", aliases=("fname", "first", "givenname")),
    Target("last_name", "Last name", aliases=("lname", "last", "surname", "familyname")),
    Target("email", "Email", help_text="A phone or an email is required.", aliases=("emailaddress", "mail")),
    Target(
        "phone",
        "Phone",
        help_text="A phone or an email is required.",
        aliases=("phonenumber", "mobile", "mobilephone", "cell", "cellphone", "telephone", "tel"),
    ),
    Target("street_address", "Street address", aliases=("address", "street", "address1", "addressline1")),
    Target("city", "City", aliases=("town",)),
    Target("state", "State", True, "Two-letter code such as CA.", aliases=("statecode", "st", "province")),
    Target("zip", "ZIP code", True, aliases=("zipcode", "postalcode", "postcode", "zip5")),
    Target(
        "external_id",
        "Your lead id (external_id)",
        help_text="Rows with an id already submitted are skipped.",
        aliases=("externalid", "leadid", "id"),
    ),
    Target("campaign", "Campaign", aliases=("campaignname", "utmcampaign")),
    Target("sub_id", "Sub id", aliases=("subid", "subaffiliate")),
    Target(
        "consent_timestamp",
        "Consent time",
        True,
        "ISO 8601 with a time zone, e.g. 2026-11-21T14:03:00Z.",
        aliases=("consentat", "consenttime", "consentdate", "timestamp", "optintime", "optindate", "optintimestamp"),
    ),
    Target("consent_ip", "Consent IP address", True, aliases=("ip", "ipaddress", "optinip")),
    Target(
        "consent_text",
        "Consent text",
        help_text="Or enter one consent text for every row below.",
        aliases=("consentlanguage", "tcpatext", "disclosure", "tcpa"),
    ),
    Target("consent_user_agent", "Consent user agent", aliases=("useragent",)),
    Target("consent_page_url", "Consent page URL", aliases=("pageurl", "url", "landingpage", "sourceurl", "optinurl")),
    Target(
        "consent_certificate_url",
        "Consent certificate URL",
        aliases=("certificateurl", "trustedformcerturl", "trustedformurl", "trustedform", "certurl"),
    ),
)
TOP_LEVEL_TARGETS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "street_address",
    "city",
    "state",
    "zip",
    "external_id",
    "campaign",
    "sub_id",
)
CONSENT_TARGETS = {
    "consent_text": "text",
    "consent_timestamp": "timestamp",
    "consent_ip": "ip",
    "consent_user_agent": "user_agent",
    "consent_page_url": "page_url",
    "consent_certificate_url": "certificate_url",
}


def csv_import_targets(*, schema: list) -> list[Target]:
    """Every lead field a CSV column can fill: contact, geo, ids, consent, then the vertical's fields."""
    return [
        *LEAD_TARGETS,
        *(Target(f"fields.{spec.key}", spec.label, spec.required, spec.help_text) for spec in schema),
    ]


def _norm(text: str) -> str:
    return _NORMALIZE.sub("", text.lower())


def csv_mapping_suggest(*, headers: list[str], targets: list[Target]) -> dict[str, str]:
    """Pre-fill the mapping: a column whose name matches a target's key, label or a common alias."""
    by_name = {}
    for header in headers:
        if header:
            by_name.setdefault(_norm(header), header)
    suggested, used = {}, set()
    for target in targets:
        names = [target.key, target.label, *target.aliases]
        if target.key.startswith("fields."):
            names.append(target.key[len("fields.") :])
        for name in names:
            header = by_name.get(_norm(name))
            if header is not None and header not in used:
                suggested[target.key] = header
                used.add(header)
                break
    return suggested


# ---------------------------------------------------------------- the file


@dataclass
class ParsedCsv:
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number, values); no blank rows


def _parse(text: str, *, max_rows: int | None = None) -> ParsedCsv:
    first_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        headers = None
        for values in reader:
            number += 1
            if any(v.strip() for v in values):
                headers = [v.strip() for v in values]
                break
        if headers is None:
            raise CsvImportInvalid("The file has no header row.")
        parsed = ParsedCsv(headers=headers)
        for values in reader:
            number += 1
            if not any(v.strip() for v in values):
                continue
            parsed.rows.append((number, values))
            if max_rows is not None and len(parsed.rows) > max_rows:
                raise CsvImportInvalid(f"The file has more than {max_rows:,} rows. Split it into smaller files.")
    except csv.Error as exc:
        raise CsvImportInvalid(f"The file is not valid CSV near line {reader.line_num}: {exc}.") from None
    return parsed


def check_csv_file(*, filename: str, content: bytes) -> ParsedCsv:
    """Refuse, with a message a seller can act on, anything but a UTF-8 CSV with a header and rows."""
    if not content:
        raise CsvImportInvalid("The file is empty.")
    if len(content) > settings.LEAD_CSV_MAX_BYTES:
        limit_mb = settings.LEAD_CSV_MAX_BYTES / (1024 * 1024)
        raise CsvImportInvalid(f"The file is larger than {limit_mb:g} MB. Split it into smaller files.")
    if os.path.splitext(filename.lower())[1] not in ALLOWED_EXTENSIONS:
        raise CsvImportInvalid(
            "Upload a .csv file (comma-separated values). From a spreadsheet, use File › Save as › CSV UTF-8."
        )
    if content.startswith(_BINARY_MAGIC) or b"\x00" in content:
        raise CsvImportInvalid(
            "This is a binary file (a spreadsheet, a PDF or an image?), not CSV text. "
            "Save it as 'CSV UTF-8' and upload that."
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvImportInvalid("The file is not UTF-8 text. Save it as 'CSV UTF-8' and upload it again.") from None
    parsed = _parse(text, max_rows=settings.LEAD_CSV_MAX_ROWS)
    named = [h for h in parsed.headers if h]
    if len(named) < 2:
        raise CsvImportInvalid(
            "The header row has a single column: is this a comma-separated file with the column names in the first row?"
        )
    duplicates = sorted({h for h in named if named.count(h) > 1})
    if duplicates:
        raise CsvImportInvalid(f"Column names must be unique; repeated: {', '.join(duplicates)}.")
    if not parsed.rows:
        raise CsvImportInvalid("The file has a header row but no data rows.")
    return parsed


def _stored_rows(csv_import: CsvImport) -> ParsedCsv:
    return _parse(bytes(csv_import.content).decode("utf-8-sig"))


def _row_dict(headers: list[str], values: list[str]) -> dict[str, str]:
    return {h: v.strip() for h, v in zip(headers, values, strict=False) if h}  # short rows: missing cells are absent


def _lead_data(row: dict[str, str], mapping: dict[str, str], consent_text: str) -> dict:
    """One CSV row in the API's submission shape."""
    data = {key: row.get(mapping[key], "") for key in TOP_LEVEL_TARGETS if key in mapping}
    data["fields"] = {
        key[len("fields.") :]: row.get(column, "") for key, column in mapping.items() if key.startswith("fields.")
    }
    consent = {name: row.get(mapping[key], "") for key, name in CONSENT_TARGETS.items() if key in mapping}
    consent["text"] = consent.get("text") or consent_text
    data["consent"] = consent
    return data


def _column_for(path: str, mapping: dict[str, str]) -> str:
    if path.startswith("consent."):
        return mapping.get("consent_" + path[len("consent.") :], "")
    return mapping.get(path, "")


# ---------------------------------------------------------------- services


def csv_import_create(*, seller, vertical: Vertical, filename: str, content: bytes) -> CsvImport:
    """Store an upload for mapping; raises CsvImportInvalid for a file that is not a usable CSV."""
    if vertical.status != VerticalStatus.ACTIVE:
        raise CsvImportInvalid({"vertical": ["This vertical is not accepting leads."]})
    parsed = check_csv_file(filename=filename, content=content)
    return CsvImport.objects.create(
        seller=seller,
        vertical=vertical,
        filename=os.path.basename(filename)[:200] or "upload.csv",
        content=content,
        headers=parsed.headers,
        total_rows=len(parsed.rows),
    )


@transaction.atomic
def csv_import_set_mapping(*, csv_import: CsvImport, mapping: dict[str, str], consent_text: str = "") -> CsvImport:
    """Save which column fills which lead field, then check every row with it (the errors are
    shown before the import starts); refuses mappings that would reject every row."""
    locked = (
        CsvImport.objects.select_for_update(of=("self",))
        .defer("content")
        .select_related("vertical")
        .get(pk=csv_import.pk)
    )
    if locked.status not in (CsvImportStatus.UPLOADED, CsvImportStatus.MAPPED):
        raise CsvImportInvalid({"__all__": ["This import has started; its mapping can no longer change."]})
    targets = csv_import_targets(schema=SchemaCache().schema(locked.vertical))
    known = {t.key for t in targets}
    errors: dict[str, list[str]] = {}
    clean = {}
    for key, column in mapping.items():
        if not column:
            continue
        if key not in known:
            errors.setdefault("__all__", []).append(f"Unknown lead field {key[:80]}.")
        elif column not in locked.headers:
            errors.setdefault(key, []).append("This column is not in the file.")
        else:
            clean[key] = column
    for target in targets:
        if target.required and target.key not in clean:
            errors.setdefault(target.key, []).append("Map this field: every row needs it.")
    if "phone" not in clean and "email" not in clean:
        errors.setdefault("phone", []).append("Map a phone or an email column: every row needs one of them.")
    consent_text = (consent_text or "").strip()
    if "consent_text" not in clean and not consent_text:
        errors.setdefault("consent_text", []).append(
            "Map a consent text column or enter the consent text your consumers agreed to."
        )
    if len(consent_text) > 5000:
        errors.setdefault("consent_text", []).append("At most 5000 characters.")
    if errors:
        raise CsvImportInvalid(errors)
    locked.mapping, locked.consent_text, locked.status = clean, consent_text, CsvImportStatus.MAPPED
    locked.save(update_fields=["mapping", "consent_text", "status"])
    return _check_all_rows(locked)


def _row_problems(
    row: dict[str, str], *, mapping: dict[str, str], consent_text: str, schema: list, now, vertical_active: bool
) -> list[tuple[str, str, str]]:
    """(field path, column, message) for each reason lead_submit would refuse this row before
    dedupe and caps: the vertical's status, then check_lead_input — the import's own checks."""
    problems = [] if vertical_active else [("vertical", "", "This vertical is not accepting leads.")]
    try:
        check_lead_input(_lead_data(row, mapping, consent_text), schema=schema, now=now)
    except LeadInvalid as exc:
        problems += [
            (path, _column_for(path, mapping), message) for path, messages in exc.errors.items() for message in messages
        ]
    return problems


def _check_all_rows(csv_import: CsvImport) -> CsvImport:
    """Validate every row with the saved mapping and keep the errors (CsvImportCheckError) and
    counts on the import. One pass over the stored file, one schema, one clock; the errors are
    written in batches. Caller holds select_for_update on the import."""
    content = CsvImport.objects.filter(pk=csv_import.pk).values_list("content", flat=True).get()
    parsed = _parse(bytes(content).decode("utf-8-sig"))
    schema = SchemaCache().schema(csv_import.vertical)
    mapping, now = csv_import.mapping, timezone.now()
    active = csv_import.vertical.status == VerticalStatus.ACTIVE
    errors, invalid = [], 0
    for number, values in parsed.rows:
        problems = _row_problems(
            _row_dict(parsed.headers, values),
            mapping=mapping,
            consent_text=csv_import.consent_text,
            schema=schema,
            now=now,
            vertical_active=active,
        )
        if problems:
            invalid += 1
            errors += [
                CsvImportCheckError(
                    csv_import=csv_import, row=number, column=column[:200], field=path[:200], message=message[:500]
                )
                for path, column, message in problems
            ]
    CsvImportCheckError.objects.filter(csv_import=csv_import).delete()
    CsvImportCheckError.objects.bulk_create(errors, batch_size=2000)
    csv_import.checked_rows, csv_import.invalid_rows, csv_import.checked_at = len(parsed.rows), invalid, now
    csv_import.save(update_fields=["checked_rows", "invalid_rows", "checked_at"])
    return csv_import


def csv_import_field_labels(*, targets: list[Target]) -> dict[str, str]:
    """Error path ("email", "fields.roof_type", "consent.timestamp") -> the label the mapping page uses."""
    labels = {target.key: target.label for target in targets}
    labels |= {f"consent.{name}": labels[key] for key, name in CONSENT_TARGETS.items()}
    labels["vertical"] = "Vertical"
    return labels


@dataclass
class PreviewRow:
    row: int
    values: list[str]  # in the order of the mapped targets
    errors: list[tuple[str, str, str]]  # (field, column, message)

    @property
    def valid(self) -> bool:
        return not self.errors


def csv_import_preview(*, csv_import: CsvImport, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first rows as the saved mapping reads them, each validated exactly as the import
    will, without writing (every row's check: csv_import_set_mapping)."""
    if not csv_import.content:
        return []
    parsed = _stored_rows(csv_import)
    schema = SchemaCache().schema(csv_import.vertical)
    mapping = csv_import.mapping or {}
    now = timezone.now()
    active = csv_import.vertical.status == VerticalStatus.ACTIVE
    preview = []
    for number, values in parsed.rows[:limit]:
        row = _row_dict(parsed.headers, values)
        errors = _row_problems(
            row, mapping=mapping, consent_text=csv_import.consent_text, schema=schema, now=now, vertical_active=active
        )
        preview.append(PreviewRow(number, [row.get(column, "") for column in mapping.values()], errors))
    return preview


@transaction.atomic
def csv_import_start(*, csv_import: CsvImport) -> CsvImport:
    """Queue the import (on commit). Starting a running or finished import again does nothing."""
    locked = CsvImport.objects.select_for_update().defer("content").get(pk=csv_import.pk)
    if locked.status in (CsvImportStatus.IMPORTING, CsvImportStatus.DONE):
        return locked
    if locked.status != CsvImportStatus.MAPPED:
        raise CsvImportInvalid({"__all__": ["Map the columns before starting the import."]})
    locked.status = CsvImportStatus.IMPORTING
    locked.save(update_fields=["status"])
    CsvImportCheckError.objects.filter(csv_import=locked).delete()  # the import's own report follows
    import_id = locked.pk
    transaction.on_commit(lambda: csv_import_confirmed.send(sender=CsvImport, csv_import_id=import_id))
    return locked


def _row_errors(number: int, result, mapping: dict[str, str], vertical: Vertical) -> list[dict]:
    if result.outcome == Outcome.INVALID:
        return [
            {"row": number, "column": _column_for(path, mapping), "field": path, "message": message}
            for path, messages in result.errors.items()
            for message in messages
        ]
    if result.outcome == Outcome.DUPLICATE:
        message = (
            f"Duplicate: a lead with the same phone or email is already in this vertical "
            f"(within {vertical.dedupe_window_days} days)."
        )
        return [{"row": number, "column": "", "field": "", "message": message}]
    if result.outcome == Outcome.EXISTING:
        return [
            {
                "row": number,
                "column": mapping.get("external_id", ""),
                "field": "external_id",
                "message": "A lead with this external_id was already submitted; not imported again.",
            }
        ]
    if result.outcome == Outcome.CAPPED:
        return [
            {
                "row": number,
                "column": "",
                "field": "",
                "message": f"Not imported: the daily cap of {result.cap} leads for this vertical was reached.",
            }
        ]
    return []


def csv_import_run(*, csv_import_id: int) -> CsvImport | None:
    """Import the rows not yet processed, a chunk per transaction; running it again is safe.

    A chunk's leads and the progress counters commit together, under the import's row lock:
    a worker killed mid-chunk leaves nothing of that chunk, and the redelivered task resumes
    at processed_rows. A finished (DONE) import is left alone; the file is freed when done.
    """
    csv_import = CsvImport.objects.select_related("vertical", "seller").filter(pk=csv_import_id).first()
    if csv_import is None or csv_import.status not in (CsvImportStatus.IMPORTING, CsvImportStatus.FAILED):
        return csv_import
    parsed = _stored_rows(csv_import)
    schemas = SchemaCache()
    vertical, seller = csv_import.vertical, csv_import.seller
    try:
        while True:
            with transaction.atomic():
                locked = CsvImport.objects.select_for_update().defer("content").get(pk=csv_import_id)
                if locked.status not in (CsvImportStatus.IMPORTING, CsvImportStatus.FAILED):
                    return locked
                start = locked.processed_rows
                chunk = parsed.rows[start : start + CHUNK_ROWS]
                if not chunk:
                    locked.status, locked.finished_at, locked.content = CsvImportStatus.DONE, timezone.now(), b""
                    locked.save(update_fields=["status", "finished_at", "content"])
                    import_finished_notify(csv_import=locked)
                    return locked
                accepted, errors = 0, []
                for number, values in chunk:
                    data = _lead_data(_row_dict(parsed.headers, values), locked.mapping, locked.consent_text)
                    result = lead_submit(
                        seller=seller, vertical=vertical, data=data, source=LeadSource.CSV, schemas=schemas
                    )
                    if result.outcome == Outcome.CREATED:
                        accepted += 1
                    else:
                        errors += _row_errors(number, result, locked.mapping, vertical)
                locked.status = CsvImportStatus.IMPORTING
                locked.processed_rows = start + len(chunk)
                locked.accepted_rows += accepted
                locked.rejected_rows += len(chunk) - accepted
                CsvImportRowError.objects.bulk_create(
                    CsvImportRowError(
                        csv_import=locked,
                        row=e["row"],
                        column=e["column"][:200],
                        field=e["field"][:200],
                        message=e["message"][:500],
                    )
                    for e in errors
                )
                locked.save(update_fields=["status", "processed_rows", "accepted_rows", "rejected_rows"])
    except Exception as exc:
        if not isinstance(exc, TRANSIENT_ERRORS):
            csv_import_mark_failed(csv_import_id=csv_import_id)
        raise


def csv_import_mark_failed(*, csv_import_id: int) -> bool:
    """An import that stopped (a permanent error, or its task dead-lettered after its retries) is
    shown to the seller as failed; replaying the dead-lettered task resumes from processed_rows.
    Only an import still marked importing changes (a conditional update)."""
    return bool(
        CsvImport.objects.filter(pk=csv_import_id, status=CsvImportStatus.IMPORTING).update(
            status=CsvImportStatus.FAILED
        )
    )
