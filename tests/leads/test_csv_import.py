"""CSV imports: upload checks, column mapping, preview, the resumable import run and its pages."""

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads import imports
from leads.choices import CsvImportStatus, LeadSource, LeadStatus
from leads.models import CsvImport, Lead
from leads.services import SchemaCache, lead_submit
from tests.conftest import wait_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Address",
    "City",
    "State",
    "Zip Code",
    "Lead ID",
    "Consent Timestamp",
    "IP Address",
    "Homeowner",
    "Roof type",
    "roof_age_years",
    "Bill",
]
CONSENT = "I agree to be contacted by solar installers about my quote."


def phone(i: int) -> str:
    """Row i's phone: 555-3000 and up, clear of the fictional 555-0100…0199 that validation refuses."""
    return f"(415) 555-{3000 + i:04d}"


def csv_row(i: int, **overrides) -> dict:
    row = {
        "First Name": f"Given{i:04d}",
        "Last Name": f"Family{i:04d}",
        "Email": f"person{i:04d}@gmail.com",
        "Phone": phone(i),
        "Address": f"{i} Market St",
        "City": "San Francisco",
        "State": "CA",
        "Zip Code": "94105",
        "Lead ID": f"ext-{i:04d}",
        "Consent Timestamp": (timezone.now() - timedelta(hours=1)).isoformat(),
        "IP Address": "203.0.113.7",
        "Homeowner": "yes",
        "Roof type": "metal",
        "roof_age_years": "8",
        "Bill": "240.50",
    }
    row.update(overrides)
    return row


def csv_bytes(rows: list[dict], header: list[str] = HEADER, bom: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def upload(client, vertical, content: bytes, name: str = "leads.csv"):
    return client.post(
        "/seller/imports/new/",
        {"vertical": vertical.pk, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


class _Selects(HTMLParser):
    """{select name: selected option value} of a page."""

    def __init__(self):
        super().__init__()
        self.selected, self._select = {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs["name"]
            self.selected.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.selected[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def selected_mapping(html: str) -> dict:
    parser = _Selects()
    parser.feed(html)
    return parser.selected


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


def make_import(seller, vertical, rows: list[dict], mapped: bool = True) -> CsvImport:
    csv_import = imports.csv_import_create(
        seller=seller, vertical=vertical, filename="leads.csv", content=csv_bytes(rows)
    )
    if mapped:
        targets = imports.csv_import_targets(schema=SchemaCache().schema(vertical))
        mapping = imports.csv_mapping_suggest(headers=csv_import.headers, targets=targets)
        csv_import = imports.csv_import_set_mapping(csv_import=csv_import, mapping=mapping, consent_text=CONSENT)
    return CsvImport.objects.get(pk=csv_import.pk)


# ---------------------------------------------------------------- upload


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leads.csv", b"", "empty"),
        ("leads.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        ("leads.csv", "First Name,City\nZoë,Zürich\n".encode("latin-1"), "not UTF-8"),
        ("leads.xlsx", b"PK\x03\x04\x14\x00\x06\x00", "Upload a .csv file"),
        ("leads.csv", ",".join(HEADER).encode() + b"\r\n", "no data rows"),
        ("leads.csv", b"just some prose\nwithout columns\n", "single column"),
        ("leads.csv", b"Email,Email\na@gmail.com,b@gmail.com\n", "unique"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(seller_client, solar, name, content, message):
    response = upload(seller_client, solar, content, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CsvImport.objects.exists()


def test_files_over_the_size_or_row_limit_are_refused(seller_client, solar, settings):
    settings.LEAD_CSV_MAX_ROWS = 2
    response = upload(seller_client, solar, csv_bytes([csv_row(i) for i in range(3)]))
    assert response.status_code == 400 and b"more than 2 rows" in response.content
    settings.LEAD_CSV_MAX_ROWS = 50000
    settings.LEAD_CSV_MAX_BYTES = 200
    response = upload(seller_client, solar, csv_bytes([csv_row(i) for i in range(3)]))
    assert response.status_code == 400 and b"larger than" in response.content
    assert not CsvImport.objects.exists()


def test_utf8_file_with_bom_is_accepted_and_blank_rows_skipped(seller_client, solar, seller_user):
    content = csv_bytes([csv_row(1), csv_row(2)], bom=True) + b",,,,,,,,,,,,,,\r\n"
    response = upload(seller_client, solar, content)
    assert response.status_code == 302
    csv_import = CsvImport.objects.get()
    assert response["Location"] == f"/seller/imports/{csv_import.pk}/map/"
    assert csv_import.seller == seller_user and csv_import.headers[0] == "First Name"
    assert csv_import.total_rows == 2 and csv_import.status == CsvImportStatus.UPLOADED


def test_upload_page_needs_a_seller(client):
    assert client.get("/seller/imports/new/").status_code == 302
    client.force_login(UserFactory(is_buyer=True))
    assert client.get("/seller/imports/new/").status_code == 403


# ---------------------------------------------------------------- mapping and preview


def test_mapping_is_prefilled_by_matching_column_names(seller_client, solar, seller_user):
    csv_import = make_import(seller_user, solar, [csv_row(1)], mapped=False)
    response = seller_client.get(f"/seller/imports/{csv_import.pk}/map/")
    assert response.status_code == 200
    selected = selected_mapping(response.content.decode())
    assert {k: v for k, v in selected.items() if v} == {
        "map.first_name": "First Name",
        "map.last_name": "Last Name",
        "map.email": "Email",
        "map.phone": "Phone",
        "map.street_address": "Address",
        "map.city": "City",
        "map.state": "State",
        "map.zip": "Zip Code",
        "map.external_id": "Lead ID",
        "map.consent_timestamp": "Consent Timestamp",
        "map.consent_ip": "IP Address",
        "map.fields.homeowner": "Homeowner",
        "map.fields.roof_type": "Roof type",
        "map.fields.roof_age_years": "roof_age_years",
        "map.fields.monthly_electric_bill": "Bill",
    }
    assert selected["map.fields.date_of_birth"] == "" and selected["map.consent_text"] == ""


def test_mapping_that_would_reject_every_row_is_refused(seller_client, solar, seller_user):
    csv_import = make_import(seller_user, solar, [csv_row(1)], mapped=False)
    response = seller_client.post(
        f"/seller/imports/{csv_import.pk}/map/",
        {
            "map.email": "Email",
            "map.state": "State",
            "map.zip": "Zip Code",
            "map.consent_timestamp": "Consent Timestamp",
            "map.fields.homeowner": "Homeowner",
            "map.fields.monthly_electric_bill": "Bill",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Map a consent text column or enter the consent text" in html
    assert "Map this field: every row needs it." in html  # consent IP
    csv_import.refresh_from_db()
    assert csv_import.status == CsvImportStatus.UPLOADED and csv_import.mapping == {}


def test_preview_shows_each_rows_validation_outcome_without_storing(seller_client, solar, seller_user):
    rows = [csv_row(1), csv_row(2, **{"Zip Code": "notazip", "Homeowner": ""}), csv_row(3)]
    csv_import = make_import(seller_user, solar, rows, mapped=False)
    page = seller_client.get(f"/seller/imports/{csv_import.pk}/map/").content.decode()
    form = {name: value for name, value in selected_mapping(page).items() if value}
    response = seller_client.post(f"/seller/imports/{csv_import.pk}/map/", {**form, "consent_text": CONSENT})
    assert response.status_code == 302
    response = seller_client.get(response["Location"])
    html = response.content.decode()
    assert 'data-row="2" data-valid="true"' in html and 'data-row="4" data-valid="true"' in html
    assert 'data-row="3" data-valid="false"' in html
    invalid = html[html.index('data-row="3"') : html.index('data-row="4"')]
    assert "Use a 5-digit US ZIP code." in invalid and "(Zip Code)" in invalid
    assert "<strong>Homeowner</strong>" in invalid
    assert "fields.homeowner" not in invalid  # labels, not internal keys
    assert "2 of 3 would be accepted" in html
    assert not Lead.objects.exists()
    assert CsvImport.objects.get().status == CsvImportStatus.MAPPED


def test_the_mapping_table_rows_are_table_rows_not_field_grids(seller_client, solar, seller_user):
    csv_import = make_import(seller_user, solar, [csv_row(1)], mapped=False)
    html = seller_client.get(f"/seller/imports/{csv_import.pk}/map/").content.decode()
    assert html.count('<tr class="mapping-row') == len(imports.csv_import_targets(schema=SchemaCache().schema(solar)))
    assert '<tr class="field' not in html and "css/leads.css" in html


def _map_and_get(client, csv_import, query: str = "") -> str:
    page = client.get(f"/seller/imports/{csv_import.pk}/map/").content.decode()
    form = {name: value for name, value in selected_mapping(page).items() if value}
    assert client.post(f"/seller/imports/{csv_import.pk}/map/", {**form, "consent_text": CONSENT}).status_code == 302
    return client.get(f"/seller/imports/{csv_import.pk}/map/{query}").content.decode()


def test_saving_the_mapping_checks_every_row_and_lists_the_bad_ones_before_the_import(
    seller_client, solar, seller_user
):
    bad = {
        15: {"Zip Code": "notazip"},
        60: {"Homeowner": "", "State": "NY"},
        119: {"Phone": "(415) 555-0150", "Email": ""},
    }
    rows = [csv_row(i, **bad.get(i, {})) for i in range(1, 121)]
    csv_import = make_import(seller_user, solar, rows, mapped=False)
    html = _map_and_get(seller_client, csv_import)
    summary = html[html.index('data-testid="check-summary"') :]
    assert "117 of 120</strong> rows pass validation" in summary and "3 rows have errors" in summary
    start = html.index('data-testid="check-errors"')
    table = html[start : html.index("</table>", start)]
    listed = re.findall(
        r'<tr data-row="(\d+)"><td class="num">\d+</td>'
        r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
        table,
    )
    assert [(int(row), column, label) for row, column, label, _ in listed] == [
        (16, "Zip Code", "ZIP code"),
        (61, "Zip Code", "ZIP code"),
        (61, "Homeowner", "Homeowner"),
        (120, "Phone", "Phone"),
    ]  # the header is row 1
    assert "555-0150" not in table and "notazip" not in table  # never a value from the row
    assert "Errors 1–4 of 4" in html and 'rel="next"' not in html
    csv_import.refresh_from_db()
    assert (csv_import.checked_rows, csv_import.invalid_rows) == (120, 3) and not Lead.objects.exists()


def test_the_check_errors_are_paginated_with_a_count(seller_client, solar, seller_user):
    rows = [csv_row(i, **({"Zip Code": "00000"} if i % 2 else {})) for i in range(1, 131)]
    csv_import = make_import(seller_user, solar, rows, mapped=False)
    first = _map_and_get(seller_client, csv_import)
    assert "Errors 1–50 of 65" in first and "65 rows have errors" in first and 'rel="next" href="?errors=2"' in first
    last = seller_client.get(f"/seller/imports/{csv_import.pk}/map/?errors=2").content.decode()
    assert "Errors 51–65 of 65" in last and 'rel="prev"' in last
    assert "Errors 51–65 of 65" in seller_client.get(f"/seller/imports/{csv_import.pk}/map/?errors=99").content.decode()


def test_checking_every_row_costs_a_bounded_number_of_queries_and_a_new_mapping_replaces_it(
    solar, seller_user, django_assert_max_num_queries
):
    rows = [csv_row(i, **({"IP Address": "not-an-ip"} if i % 3 == 0 else {})) for i in range(1, 3001)]
    csv_import = make_import(seller_user, solar, rows, mapped=False)
    targets = imports.csv_import_targets(schema=SchemaCache().schema(solar))
    mapping = imports.csv_mapping_suggest(headers=csv_import.headers, targets=targets)
    with django_assert_max_num_queries(15):
        checked = imports.csv_import_set_mapping(csv_import=csv_import, mapping=mapping, consent_text=CONSENT)
    assert (checked.checked_rows, checked.invalid_rows) == (3000, 1000)
    assert checked.check_errors.count() == 1000 and set(checked.check_errors.values_list("field", flat=True)) == {
        "consent.ip"
    }
    del mapping["consent_ip"]  # a required field unmapped: refused, the last check stands
    with pytest.raises(imports.CsvImportInvalid):
        imports.csv_import_set_mapping(csv_import=csv_import, mapping=mapping, consent_text=CONSENT)
    mapping = {**mapping, "consent_ip": "IP Address", "zip": "Lead ID"}
    checked = imports.csv_import_set_mapping(csv_import=csv_import, mapping=mapping, consent_text=CONSENT)
    assert checked.invalid_rows == 3000 and checked.check_errors.filter(field="consent.ip").count() == 1000
    imports.csv_import_start(csv_import=checked)
    assert not checked.check_errors.exists()  # the import's own report takes over


def test_start_queues_the_import_once_on_commit(
    seller_client, solar, seller_user, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    from leads import tasks

    # The import is announced on commit (leads.signals.csv_import_confirmed) and its receiver queues it.
    monkeypatch.setattr(tasks.import_csv, "delay", lambda csv_import_id: queued.append(csv_import_id))
    csv_import = make_import(seller_user, solar, [csv_row(1)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = seller_client.post(f"/seller/imports/{csv_import.pk}/start/")
    assert response.status_code == 302 and response["Location"] == f"/seller/imports/{csv_import.pk}/"
    assert queued == []  # not before the commit
    for callback in callbacks:
        callback()
    assert queued == [csv_import.pk]
    with django_capture_on_commit_callbacks(execute=True):
        seller_client.post(f"/seller/imports/{csv_import.pk}/start/")
    assert queued == [csv_import.pk]
    assert CsvImport.objects.get().status == CsvImportStatus.IMPORTING


# ---------------------------------------------------------------- the run


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: nothing in the import may catch it."""


def test_a_killed_run_resumes_and_imports_every_row_exactly_once(solar, seller_user, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 4)
    csv_import = make_import(seller_user, solar, [csv_row(i) for i in range(1, 11)])
    imports.csv_import_start(csv_import=csv_import)
    real_submit, calls = imports.lead_submit, []

    def dying_submit(**kwargs):
        calls.append(1)
        if len(calls) == 6:  # in the second chunk, after its first row was stored
            raise WorkerKilled
        return real_submit(**kwargs)

    monkeypatch.setattr(imports, "lead_submit", dying_submit)
    with pytest.raises(WorkerKilled):
        imports.csv_import_run(csv_import_id=csv_import.pk)
    csv_import.refresh_from_db()
    assert (csv_import.status, csv_import.processed_rows, csv_import.accepted_rows) == ("importing", 4, 4)
    assert Lead.objects.count() == 4  # the half-done chunk left nothing behind

    monkeypatch.setattr(imports, "lead_submit", real_submit)
    imports.csv_import_run(csv_import_id=csv_import.pk)
    csv_import.refresh_from_db()
    assert csv_import.status == CsvImportStatus.DONE
    assert (csv_import.processed_rows, csv_import.accepted_rows, csv_import.rejected_rows) == (10, 10, 0)
    assert not csv_import.row_errors.exists() and bytes(csv_import.content) == b""
    leads = Lead.objects.all()
    assert sorted(lead.external_id for lead in leads) == [f"ext-{i:04d}" for i in range(1, 11)]
    assert {lead.status for lead in leads} == {LeadStatus.RECEIVED}
    assert {lead.source for lead in leads} == {LeadSource.CSV}


def test_run_resumes_from_processed_rows_without_importing_a_row_twice(solar, seller_user):
    rows = [csv_row(i) for i in range(1, 7)]
    csv_import = make_import(seller_user, solar, rows)
    imports.csv_import_start(csv_import=csv_import)
    for _number, values in imports._stored_rows(csv_import).rows[:3]:  # what an earlier worker committed
        row = imports._row_dict(csv_import.headers, values)
        lead_submit(
            seller=seller_user,
            vertical=solar,
            source=LeadSource.CSV,
            data=imports._lead_data(row, csv_import.mapping, csv_import.consent_text),
        )
    CsvImport.objects.filter(pk=csv_import.pk).update(processed_rows=3, accepted_rows=3)

    imports.csv_import_run(csv_import_id=csv_import.pk)
    csv_import.refresh_from_db()
    assert (csv_import.processed_rows, csv_import.accepted_rows, csv_import.rejected_rows) == (6, 6, 0)
    assert Lead.objects.count() == 6 and not Lead.objects.filter(status=LeadStatus.REJECTED).exists()


def test_running_a_finished_import_again_does_nothing(solar, seller_user):
    csv_import = make_import(seller_user, solar, [csv_row(1), csv_row(2)])
    imports.csv_import_start(csv_import=csv_import)
    imports.csv_import_run(csv_import_id=csv_import.pk)
    before = CsvImport.objects.values().get(pk=csv_import.pk)
    imports.csv_import_run(csv_import_id=csv_import.pk)
    assert CsvImport.objects.values().get(pk=csv_import.pk) == before
    assert Lead.objects.count() == 2


def test_run_of_an_import_not_started_does_nothing(solar, seller_user):
    csv_import = make_import(seller_user, solar, [csv_row(1)])
    imports.csv_import_run(csv_import_id=csv_import.pk)
    assert CsvImport.objects.get().status == CsvImportStatus.MAPPED and not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_worker_imports_300_rows_and_reports_rejections_without_values(client, solar, seller_user, celery_worker):
    client.force_login(seller_user)
    invalid = {i for i in range(1, 301) if i % 15 == 0}
    dupes = {99, 199, 299}  # same contact as the row before
    rows = []
    for i in range(1, 301):
        row = csv_row(i, **({"Zip Code": "notazip"} if i in invalid else {}))
        if i in dupes:
            row.update({"Phone": phone(i - 1), "Email": f"person{i - 1:04d}@gmail.com"})
        rows.append(row)
    response = upload(client, solar, csv_bytes(rows))
    assert response.status_code == 302, response.content
    csv_import = CsvImport.objects.get(seller=seller_user)
    page = client.get(f"/seller/imports/{csv_import.pk}/map/").content.decode()
    mapping = {name: value for name, value in selected_mapping(page).items() if value}
    assert client.post(f"/seller/imports/{csv_import.pk}/map/", {**mapping, "consent_text": CONSENT}).status_code == 302
    assert client.post(f"/seller/imports/{csv_import.pk}/start/").status_code == 302

    def done():
        return client.get(f"/seller/imports/{csv_import.pk}/progress.json").json()["finished"]

    wait_for(done, timeout=120, message="the CSV import to finish")
    progress = client.get(f"/seller/imports/{csv_import.pk}/progress.json").json()
    assert progress == {
        **progress,
        "status": "done",
        "total_rows": 300,
        "processed_rows": 300,
        "percent": 100,
        "accepted_rows": 300 - len(invalid) - len(dupes),
        "rejected_rows": len(invalid) + len(dupes),
    }
    assert Lead.objects.filter(seller=seller_user, source=LeadSource.CSV).exclude(
        status=LeadStatus.REJECTED
    ).count() == 300 - len(invalid) - len(dupes)
    assert bytes(CsvImport.objects.get(pk=csv_import.pk).content) == b""

    report = client.get(f"/seller/imports/{csv_import.pk}/errors.csv")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    text = report.content.decode()
    lines = list(csv.DictReader(io.StringIO(text)))
    zip_rows = {int(line["row"]) for line in lines if line["field"] == "zip"}
    assert zip_rows == {i + 1 for i in invalid}  # the header is row 1
    assert all(line["column"] == "Zip Code" for line in lines if line["field"] == "zip")
    assert {int(line["row"]) for line in lines if line["message"].startswith("Duplicate")} == {i + 1 for i in dupes}
    for i in invalid | dupes:
        for value in (f"Given{i:04d}", f"Family{i:04d}", f"person{i:04d}", phone(i)[6:], f"{i} Market St"):
            assert value not in text
    assert "notazip" not in text and "203.0.113.7" not in text
    detail = client.get(f"/seller/imports/{csv_import.pk}/")
    assert b"/errors.csv" in detail.content and b"import-progress.js" in detail.content
    # The imported leads were queued for scoring; let the worker finish before the database is flushed.
    wait_for(
        lambda: not Lead.objects.filter(status=LeadStatus.RECEIVED).exists(),
        timeout=120,
        message="the imported leads to be scored",
    )


# ---------------------------------------------------------------- isolation


def test_another_sellers_import_is_404_everywhere(client, solar, seller_user):
    csv_import = make_import(seller_user, solar, [csv_row(1)])
    client.force_login(UserFactory(is_seller=True))
    base = f"/seller/imports/{csv_import.pk}"
    for url in (f"{base}/", f"{base}/map/", f"{base}/progress.json", f"{base}/errors.csv"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"{base}/start/").status_code == 404
    assert client.post(f"{base}/map/", {"consent_text": CONSENT}).status_code == 404
    assert csv_import.filename.encode() not in client.get("/seller/imports/").content
    assert CsvImport.objects.get().status == CsvImportStatus.MAPPED


def test_import_list_shows_the_sellers_imports_with_status(seller_client, solar, seller_user):
    make_import(seller_user, solar, [csv_row(1)])
    response = seller_client.get("/seller/imports/")
    assert response.status_code == 200
    assert b"leads.csv" in response.content and b"Columns mapped" in response.content


def test_an_import_whose_task_is_dead_lettered_shows_failed_and_a_replay_finishes_it(solar, seller_user):
    from django.db import OperationalError

    from core.models import DeadLetter
    from leads.tasks import import_csv

    csv_import = make_import(seller_user, solar, [csv_row(i) for i in range(1, 4)])
    imports.csv_import_start(csv_import=csv_import)
    assert CsvImport.objects.get(pk=csv_import.pk).status == CsvImportStatus.IMPORTING
    # What the worker does after the last retry of a transient error (the database kept failing).
    import_csv.on_failure(
        OperationalError("server closed the connection"), "task-dead-1", (), {"csv_import_id": csv_import.pk}, None
    )
    assert CsvImport.objects.get(pk=csv_import.pk).status == CsvImportStatus.FAILED
    assert DeadLetter.objects.filter(task_name="leads.import_csv").exists()

    imports.csv_import_run(csv_import_id=csv_import.pk)  # the replay
    csv_import.refresh_from_db()
    assert (csv_import.status, csv_import.processed_rows, csv_import.accepted_rows) == (CsvImportStatus.DONE, 3, 3)
