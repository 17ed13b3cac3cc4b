"""Page forms for lead intake: the hosted lead form and the CSV import pages.

The hosted form only collects and renders: it is deliberately lenient, so the one shared
validation (leads.validation via lead_submit) produces every field error, which the form
then shows next to the matching input.
"""

from django import forms
from django.conf import settings

from leads.choices import AdPlatform
from verticals.choices import FieldType, VerticalStatus
from verticals.models import Vertical

US_STATE_NAMES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
    "GU": "Guam",
    "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}
STATE_CHOICES = [("", "Choose your state")] + sorted(US_STATE_NAMES.items(), key=lambda item: item[1])
HONEYPOT_FIELD = "website"
SCHEMA_PREFIX = "f_"
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "street_address", "city", "state", "zip")


def hosted_form_consent_text(*, vertical: Vertical, seller) -> str:
    """The consent language shown next to the checkbox; the lead records exactly this text."""
    who = seller.company_name or seller.full_name or "the company operating this page"
    return (
        f"By checking this box and submitting this form, I agree that {who} and its partners offering "
        f"{vertical.name} may contact me about my request at the phone number and email address I entered, "
        "including by autodialed or prerecorded calls and text messages. My consent is not a condition of any "
        "purchase. Message and data rates may apply, and I can opt out at any time."
    )


def _number(value) -> str:
    return format(value.normalize(), "f")


class LenientMultipleChoiceField(forms.MultipleChoiceField):
    """Checkboxes whose values the shared lead validation judges (not Django's choice check)."""

    def validate(self, value):
        pass


def _schema_field(spec) -> forms.Field:
    attrs = {"required": True} if spec.required else {}
    common = {"label": spec.label, "required": False, "help_text": spec.help_text}
    kind = spec.type
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        attrs |= {
            "step": "1" if kind == FieldType.INTEGER else "any",
            "inputmode": "numeric" if kind == FieldType.INTEGER else "decimal",
        }
        if spec.min_value is not None:
            attrs["min"] = _number(spec.min_value)
        if spec.max_value is not None:
            attrs["max"] = _number(spec.max_value)
        field = forms.CharField(widget=forms.NumberInput(attrs=attrs), **common)
    elif kind == FieldType.BOOLEAN:
        field = forms.CharField(widget=forms.RadioSelect(choices=[("yes", "Yes"), ("no", "No")], attrs=attrs), **common)
    elif kind == FieldType.CHOICE:
        choices = [("", "Choose…")] + [(c, c) for c in spec.choices]
        field = forms.CharField(widget=forms.Select(choices=choices, attrs=attrs), **common)
    elif kind == FieldType.MULTI_CHOICE:
        field = LenientMultipleChoiceField(
            choices=[(c, c) for c in spec.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    elif kind == FieldType.DATE:
        field = forms.CharField(widget=forms.DateInput(attrs=attrs | {"type": "date"}), **common)
    elif kind == FieldType.US_ZIP:
        field = forms.CharField(
            widget=forms.TextInput(
                attrs=attrs
                | {"inputmode": "numeric", "maxlength": "10", "pattern": r"\d{5}(-\d{4})?", "autocomplete": "off"}
            ),
            **common,
        )
    else:
        field = forms.CharField(widget=forms.TextInput(attrs=attrs | {"maxlength": "500"}), **common)
    field.show_required = spec.required
    field.field_type = kind
    return field


class HostedLeadForm(forms.Form):
    """A consumer's request on a seller's hosted form for one vertical (schema fields are f_<key>)."""

    first_name = forms.CharField(
        required=False,
        label="First name",
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "maxlength": "100"}),
    )
    last_name = forms.CharField(
        required=False,
        label="Last name",
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "maxlength": "100"}),
    )
    email = forms.CharField(
        required=False, label="Email", widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": "254"})
    )
    phone = forms.CharField(
        required=False,
        label="Phone",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "maxlength": "40"}),
    )
    street_address = forms.CharField(
        required=False,
        label="Street address",
        widget=forms.TextInput(attrs={"autocomplete": "address-line1", "maxlength": "200"}),
    )
    city = forms.CharField(
        required=False,
        label="City",
        widget=forms.TextInput(attrs={"autocomplete": "address-level2", "maxlength": "100"}),
    )
    state = forms.CharField(
        required=False,
        label="State",
        widget=forms.Select(choices=STATE_CHOICES, attrs={"autocomplete": "address-level1", "required": True}),
    )
    zip = forms.CharField(
        required=False,
        label="ZIP code",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "postal-code",
                "inputmode": "numeric",
                "maxlength": "10",
                "required": True,
                "pattern": r"\d{5}(-\d{4})?",
            }
        ),
    )
    consent = forms.BooleanField(
        required=True,
        error_messages={"required": "Please tick the box to agree to be contacted, or we cannot send your request."},
    )
    website = forms.CharField(required=False, label="Leave this empty")  # the honeypot

    def __init__(self, *args, schema: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        for name in ("state", "zip"):
            self.fields[name].show_required = True
        for spec in schema:
            self.fields[SCHEMA_PREFIX + spec.key] = _schema_field(spec)

    @property
    def is_spam(self) -> bool:
        return bool((self.data.get(HONEYPOT_FIELD) or "").strip())

    def contact_fields(self) -> list:
        return [self[name] for name in CONTACT_FIELDS]

    def schema_fields(self) -> list:
        return [self[SCHEMA_PREFIX + spec.key] for spec in self.schema]

    def lead_data(self, *, consent: dict) -> dict:
        """The submission in the API's shape, from what the consumer typed (call after is_valid())."""
        values = getattr(self, "cleaned_data", {})
        data = {name: values.get(name, self.data.get(name, "")) or "" for name in CONTACT_FIELDS}
        fields = {}
        for spec in self.schema:
            name = SCHEMA_PREFIX + spec.key
            if spec.type == FieldType.MULTI_CHOICE:
                fields[spec.key] = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            else:
                fields[spec.key] = (self.data.get(name) or "").strip()
        data["fields"] = fields
        data["consent"] = consent
        return data

    def add_lead_errors(self, errors: dict) -> None:
        """Show lead_submit's errors ("zip", "fields.roof_type", "consent.ip", …) next to their inputs."""
        for path, messages in errors.items():
            name = SCHEMA_PREFIX + path[len("fields.") :] if path.startswith("fields.") else path
            target = name if name in self.fields and name not in (HONEYPOT_FIELD, "consent") else None
            for message in messages:
                if target is not None and target in self.errors and message in self.errors[target]:
                    continue
                self.add_error(target, message)


# ---------------------------------------------------------------- CSV imports


class CsvUploadForm(forms.Form):
    vertical = forms.ModelChoiceField(queryset=Vertical.objects.none(), empty_label="Choose a vertical")
    file = forms.FileField(label="CSV file", help_text="UTF-8 (with or without BOM), a header row first.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vertical"].queryset = Vertical.objects.filter(status=VerticalStatus.ACTIVE).order_by("name")
        limit_mb = settings.LEAD_CSV_MAX_BYTES / (1024 * 1024)
        self.fields["file"].help_text = (
            f"UTF-8 (with or without BOM), a header row first; at most "
            f"{limit_mb:g} MB and {settings.LEAD_CSV_MAX_ROWS:,} rows."
        )
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.LEAD_CSV_MAX_BYTES:
            limit_mb = settings.LEAD_CSV_MAX_BYTES / (1024 * 1024)
            raise forms.ValidationError(f"The file is larger than {limit_mb:g} MB. Split it into smaller files.")
        return upload


MAPPING_PREFIX = "map."


class CsvMappingForm(forms.Form):
    """One select per lead field (map.<target>) listing the file's columns, and a batch consent text."""

    consent_text = forms.CharField(
        required=False,
        max_length=5000,
        label="Consent text for every row",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The consent language your consumers agreed to; used for rows without a consent text column.",
    )

    def __init__(self, *args, targets: list, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = targets
        columns = [("", "— not in the file —")] + [(h, h) for h in headers if h]
        for target in targets:
            field = forms.ChoiceField(choices=columns, required=False, label=target.label, help_text=target.help_text)
            field.show_required = target.required
            field.target = target.key
            self.fields[MAPPING_PREFIX + target.key] = field
        self.order_fields([MAPPING_PREFIX + t.key for t in targets] + ["consent_text"])

    def mapping(self) -> dict:
        return {
            name[len(MAPPING_PREFIX) :]: value
            for name, value in self.cleaned_data.items()
            if name.startswith(MAPPING_PREFIX) and value
        }

    def add_service_errors(self, errors: dict) -> None:
        for key, messages in errors.items():
            name = key if key == "consent_text" else MAPPING_PREFIX + key
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class AdConnectionForm(forms.Form):
    """A Google or Meta lead form connection: the mapping editor has one input per lead field,
    offering the platform's field names (standard ones and those its leads carried)."""

    platform = forms.ChoiceField(choices=AdPlatform.choices)
    vertical = forms.ModelChoiceField(queryset=Vertical.objects.none(), empty_label="Choose a vertical")
    name = forms.CharField(max_length=100)
    form_ids = forms.CharField(
        label="Form ids",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The platform's lead form id(s), one per line; deliveries for other forms are refused.",
    )
    consent_text = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The consent language your lead form shows; stored with each lead.",
    )
    active = forms.BooleanField(required=False, initial=True)
    app_secret = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        label="Meta app secret",
        help_text="Meta only. Left blank on edit: the stored one is kept.",
    )
    page_access_token = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        label="Meta page access token",
        help_text="Meta only (leads_retrieval permission). Left blank on edit: the stored one is kept.",
    )

    def __init__(self, *args, targets: list, field_names: list[str], editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vertical"].queryset = Vertical.objects.filter(status=VerticalStatus.ACTIVE).order_by("name")
        if editing:
            del self.fields["platform"], self.fields["vertical"]
        else:
            del self.fields["active"]  # a new connection is active
        self.field_names = field_names
        self.targets = targets
        for target in targets:
            field = forms.CharField(required=False, max_length=200, label=target.label, help_text=target.help_text)
            field.widget.attrs["list"] = "platform-fields"
            field.show_required = target.required
            self.fields[MAPPING_PREFIX + target.key] = field

    def mapping_fields(self):
        return [self[name] for name in self.fields if name.startswith(MAPPING_PREFIX)]

    def settings_fields(self):
        return [self[name] for name in self.fields if not name.startswith(MAPPING_PREFIX)]

    def mapping(self) -> dict:
        return {
            name[len(MAPPING_PREFIX) :]: value.strip()
            for name, value in self.cleaned_data.items()
            if name.startswith(MAPPING_PREFIX) and value and value.strip()
        }

    def form_id_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["form_ids"].replace(",", "\n").splitlines() if line.strip()]

    def add_service_errors(self, errors: dict) -> None:
        for key, messages in errors.items():
            for message in messages:
                self.add_error(key if key in self.fields else None, message)
