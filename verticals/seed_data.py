"""Seed data for the consumer lead marketplace: verticals, their lead schemas and sale defaults.

``VERTICALS`` is a tree consumed by ``verticals.services.vertical_seed_tree(tree=VERTICALS)``.
Each node carries a vertical's own fields; children inherit their ancestors' fields (merged by
key), so a child lists only what is specific to it or what it overrides. Contact details, geo
(zip, state, city, country) and consent are core lead fields and never appear here. Prices are
in USDC. Children without a ``brand_color`` take their top-level vertical's colour.
"""

from decimal import Decimal

# --------------------------------------------------------------------------------------------
# Field helpers
# --------------------------------------------------------------------------------------------


def _field(
    key: str,
    label: str,
    type: str,
    *,
    required: bool = False,
    biddable: bool = False,
    pii: bool = False,
    help_text: str = "",
    choices: list[str] | None = None,
    min_value=None,
    max_value=None,
) -> dict:
    spec = {"key": key, "label": label, "type": type, "required": required, "biddable": biddable, "pii": pii}
    if choices is not None:
        spec["choices"] = list(choices)
    if min_value is not None:
        spec["min_value"] = Decimal(min_value)
    if max_value is not None:
        spec["max_value"] = Decimal(max_value)
    if help_text:
        spec["help_text"] = help_text
    return spec


def text(key, label, **opts) -> dict:
    return _field(key, label, "text", **opts)


def integer(key, label, min_value=None, max_value=None, **opts) -> dict:
    return _field(key, label, "integer", min_value=min_value, max_value=max_value, **opts)


def decimal(key, label, min_value=None, max_value=None, **opts) -> dict:
    return _field(key, label, "decimal", min_value=min_value, max_value=max_value, **opts)


def boolean(key, label, **opts) -> dict:
    return _field(key, label, "boolean", **opts)


def choice(key, label, choices, **opts) -> dict:
    return _field(key, label, "choice", choices=choices, **opts)


def multi_choice(key, label, choices, **opts) -> dict:
    return _field(key, label, "multi_choice", choices=choices, **opts)


def date(key, label, **opts) -> dict:
    return _field(key, label, "date", **opts)


def us_zip(key, label, **opts) -> dict:
    return _field(key, label, "us_zip", **opts)


# --------------------------------------------------------------------------------------------
# Shared choice lists and fields
# --------------------------------------------------------------------------------------------

CREDIT_BAND = ["excellent (720+)", "good (680-719)", "fair (620-679)", "poor (<620)"]
PURCHASE_TIMELINE = ["immediately", "within 1 month", "1-3 months", "3-6 months", "6+ months", "just researching"]
PROJECT_TIMELINE = ["emergency", "within 1 week", "within 1 month", "1-3 months", "3+ months", "just researching"]
RESIDENTIAL_PROPERTY_TYPE = [
    "single-family home",
    "townhouse",
    "condominium",
    "multi-family (2-4 units)",
    "manufactured / mobile home",
]
EMPLOYMENT_STATUS = ["employed full-time", "employed part-time", "self-employed", "retired", "unemployed", "military"]
HEALTH_RATING = ["excellent", "very good", "good", "fair", "poor"]
BUDGET_RANGE = ["under $5,000", "$5,000-$10,000", "$10,000-$25,000", "$25,000-$50,000", "$50,000+"]


def credit_band_field(*, required: bool = False) -> dict:
    return choice(
        "credit_band",
        "Credit score (self-reported)",
        CREDIT_BAND,
        required=required,
        biddable=True,
        help_text="Self-reported; no credit pull has been made.",
    )


def homeowner_field(*, required: bool = True) -> dict:
    return boolean("homeowner", "Owns the home", required=required, biddable=True)


def property_type_field(*, required: bool = False) -> dict:
    return choice("property_type", "Property type", RESIDENTIAL_PROPERTY_TYPE, required=required, biddable=True)


def purchase_timeline_field(*, required: bool = False) -> dict:
    return choice("purchase_timeline", "Purchase timeline", PURCHASE_TIMELINE, required=required, biddable=True)


def project_timeline_field(*, required: bool = False) -> dict:
    return choice("project_timeline", "Project timeline", PROJECT_TIMELINE, required=required, biddable=True)


def date_of_birth_field() -> dict:
    return date("date_of_birth", "Date of birth", pii=True, help_text="Shown only to the paying buyer.")


# --------------------------------------------------------------------------------------------
# Home energy and home services
# --------------------------------------------------------------------------------------------

SOLAR = {
    "slug": "solar",
    "name": "Solar",
    "description": "Homeowners and businesses asking for quotes on solar panel installation. "
    "Leads are qualified on roof, shading, electric bill and credit.",
    "tagline": "Rooftop solar quotes from motivated property owners",
    "brand_color": "#f59e0b",
    "reserve_price": Decimal("35"),
    "buy_now_multiplier": Decimal("1.5"),
    "dispute_window_hours": 72,
    "quality_floor": 50,
    "daily_cap_per_seller": 300,
    "dedupe_window_days": 90,
    "fields": [
        homeowner_field(),
        choice(
            "roof_type",
            "Roof type",
            ["asphalt shingle", "metal", "clay / concrete tile", "slate", "flat / membrane", "wood shake", "other"],
            biddable=True,
        ),
        integer("roof_age_years", "Roof age (years)", 0, 100),
        decimal("monthly_electric_bill", "Average monthly electric bill (USD)", 0, 2000, required=True, biddable=True),
        credit_band_field(),
        choice("shading", "Roof shading", ["full sun", "partial shade", "mostly shaded", "not sure"], biddable=True),
        purchase_timeline_field(),
        text("utility_provider", "Electric utility", help_text="e.g. PG&E, Duke Energy, FPL."),
    ],
    "children": [
        {
            "slug": "solar-residential",
            "name": "Residential Solar",
            "description": "Single-family homeowners looking to install rooftop solar on their primary residence.",
            "tagline": "Rooftop solar for homeowners",
            "fields": [
                choice(
                    "financing_preference",
                    "Preferred financing",
                    ["cash purchase", "solar loan", "lease", "power purchase agreement (PPA)", "not sure"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "solar-commercial",
            "name": "Commercial Solar",
            "description": "Business owners and property managers requesting solar proposals for commercial "
            "buildings, warehouses and farms.",
            "tagline": "Solar proposals for commercial property",
            "reserve_price": Decimal("60"),
            "auction_duration_seconds": 120,
            "daily_cap_per_seller": 100,
            "fields": [
                boolean("homeowner", "Owns the building", required=True, biddable=True),
                decimal(
                    "monthly_electric_bill",
                    "Average monthly electric bill (USD)",
                    0,
                    250000,
                    required=True,
                    biddable=True,
                ),
                choice(
                    "business_type",
                    "Business type",
                    [
                        "office",
                        "retail",
                        "warehouse / industrial",
                        "agricultural",
                        "multi-family",
                        "non-profit / church",
                        "other",
                    ],
                    biddable=True,
                ),
                integer("building_square_feet", "Building size (sq ft)", 500, 2000000),
            ],
        },
        {
            "slug": "solar-battery-storage",
            "name": "Solar + Battery Storage",
            "description": "Homeowners who want solar paired with a home battery such as a Tesla Powerwall or "
            "Enphase IQ Battery for backup power.",
            "tagline": "Solar with backup power",
            "reserve_price": Decimal("45"),
            "fields": [
                boolean("has_existing_solar", "Already has solar panels", biddable=True),
                choice(
                    "backup_priority",
                    "Main reason for a battery",
                    ["backup during outages", "time-of-use savings", "energy independence", "not sure"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "solar-roof-replacement",
            "name": "Solar Roof Replacement",
            "description": "Homeowners whose roof needs replacing before or alongside a solar installation.",
            "tagline": "New roof and solar in one project",
            "reserve_price": Decimal("50"),
            "fields": [
                integer("roof_age_years", "Roof age (years)", 0, 100, required=True, biddable=True),
                choice("roof_condition", "Roof condition", ["good", "worn", "leaking", "storm damaged"], biddable=True),
            ],
        },
        {
            "slug": "solar-community",
            "name": "Community Solar",
            "description": "Renters and homeowners who want to subscribe to a shared solar farm for a utility "
            "bill credit instead of installing panels.",
            "tagline": "Solar savings without panels",
            "status": "proposed",
            "reserve_price": Decimal("15"),
            "fields": [
                homeowner_field(required=False),
            ],
        },
    ],
}

ROOFING = {
    "slug": "roofing",
    "name": "Roofing",
    "description": "Property owners requesting estimates from roofing contractors for repairs, full "
    "replacements and storm damage.",
    "tagline": "Roofing estimates from homeowners ready to hire",
    "brand_color": "#b45309",
    "reserve_price": Decimal("30"),
    "buy_now_multiplier": Decimal("1.4"),
    "quality_floor": 45,
    "daily_cap_per_seller": 300,
    "dedupe_window_days": 60,
    "fields": [
        homeowner_field(),
        property_type_field(),
        choice(
            "roof_material",
            "Current roof material",
            ["asphalt shingle", "metal", "tile", "slate", "flat / membrane", "wood shake", "not sure"],
            biddable=True,
        ),
        integer("roof_age_years", "Roof age (years)", 0, 100),
        project_timeline_field(required=True),
    ],
    "children": [
        {
            "slug": "roofing-repair",
            "name": "Roof Repair",
            "description": "Homeowners with leaks, missing shingles or flashing problems who need a repair "
            "rather than a new roof.",
            "tagline": "Fix leaks and damaged shingles",
            "reserve_price": Decimal("20"),
            "fields": [
                multi_choice(
                    "repair_issues",
                    "Problems",
                    ["leak", "missing shingles", "flashing", "sagging", "ventilation", "gutters", "other"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "roofing-replacement",
            "name": "Roof Replacement",
            "description": "Homeowners planning a full tear-off and new roof installation.",
            "tagline": "Full roof replacement quotes",
            "reserve_price": Decimal("45"),
            "fields": [
                choice(
                    "desired_material",
                    "Desired roof material",
                    ["asphalt shingle", "metal", "tile", "slate", "not sure"],
                    biddable=True,
                ),
                integer("roof_square_feet", "Approximate roof size (sq ft)", 200, 20000),
            ],
        },
        {
            "slug": "roofing-storm-damage",
            "name": "Storm Damage Roofing",
            "description": "Homeowners with hail, wind or fallen-tree damage, often filing an insurance claim "
            "for the repair.",
            "tagline": "Hail and wind damage repair",
            "reserve_price": Decimal("40"),
            "dedupe_window_days": 30,
            "fields": [
                multi_choice(
                    "storm_damage_type",
                    "Damage type",
                    ["hail", "wind", "fallen tree", "water / flooding", "other"],
                    required=True,
                    biddable=True,
                ),
                date("damage_date", "Date of damage"),
                boolean("insurance_claim", "Filing an insurance claim", biddable=True),
            ],
        },
        {
            "slug": "roofing-inspection",
            "name": "Roof Inspection",
            "description": "Home buyers, sellers and owners asking for a professional roof inspection or "
            "certification.",
            "tagline": "Roof inspections and certifications",
            "status": "proposed",
            "reserve_price": Decimal("12"),
            "fields": [
                choice(
                    "inspection_reason",
                    "Reason for inspection",
                    ["buying a home", "selling a home", "insurance requirement", "after a storm", "routine"],
                    biddable=True,
                ),
            ],
        },
    ],
}

HVAC = {
    "slug": "hvac",
    "name": "HVAC",
    "description": "Homeowners looking for heating and air-conditioning installation, replacement and repair.",
    "tagline": "Heating and cooling jobs from local homeowners",
    "brand_color": "#0891b2",
    "reserve_price": Decimal("25"),
    "buy_now_multiplier": Decimal("1.4"),
    "quality_floor": 45,
    "daily_cap_per_seller": 400,
    "dedupe_window_days": 45,
    "fields": [
        homeowner_field(),
        choice(
            "system_type",
            "System",
            ["central air", "heat pump", "furnace", "boiler", "ductless mini-split", "not sure"],
            biddable=True,
        ),
        choice("fuel_type", "Heating fuel", ["natural gas", "electric", "propane", "oil", "not sure"], biddable=True),
        integer("system_age_years", "Current system age (years)", 0, 60),
        integer("home_square_feet", "Home size (sq ft)", 200, 20000),
        project_timeline_field(required=True),
    ],
    "children": [
        {
            "slug": "hvac-ac-installation",
            "name": "AC Installation & Replacement",
            "description": "Homeowners replacing or adding a central air-conditioning system.",
            "tagline": "New central air systems",
            "reserve_price": Decimal("35"),
            "fields": [
                boolean("has_ductwork", "Home has existing ductwork", biddable=True),
            ],
        },
        {
            "slug": "hvac-furnace",
            "name": "Furnace & Heating",
            "description": "Homeowners replacing a furnace or boiler, typically ahead of or during the heating season.",
            "tagline": "Furnace and boiler replacement",
            "reserve_price": Decimal("30"),
            "fields": [
                choice(
                    "project_type",
                    "Project",
                    ["replace existing", "new installation", "repair"],
                    required=True,
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "hvac-heat-pump",
            "name": "Heat Pumps",
            "description": "Homeowners switching to an air-source or geothermal heat pump, often to use federal "
            "and utility rebates.",
            "tagline": "Efficient electric heating and cooling",
            "reserve_price": Decimal("35"),
            "fields": [
                choice(
                    "heat_pump_type",
                    "Heat pump type",
                    ["air-source (ducted)", "ductless mini-split", "geothermal", "not sure"],
                    biddable=True,
                ),
                boolean("interested_in_rebates", "Interested in rebates and tax credits"),
            ],
        },
        {
            "slug": "hvac-repair",
            "name": "HVAC Repair",
            "description": "Homeowners with a broken or underperforming heating or cooling system who need a "
            "technician visit.",
            "tagline": "Same-week heating and cooling repair",
            "reserve_price": Decimal("15"),
            "dedupe_window_days": 14,
            "fields": [
                multi_choice(
                    "symptoms",
                    "Symptoms",
                    ["no cooling", "no heat", "strange noise", "leaking", "high bills", "thermostat issue", "other"],
                    biddable=True,
                ),
            ],
        },
    ],
}

HOME_SECURITY = {
    "slug": "home-security",
    "name": "Home Security",
    "description": "Consumers and small businesses asking for security system quotes: alarms, cameras, smart "
    "locks and professional monitoring.",
    "tagline": "Alarm and camera shoppers ready to install",
    "brand_color": "#334155",
    "reserve_price": Decimal("15"),
    "buy_now_multiplier": Decimal("1.3"),
    "quality_floor": 40,
    "daily_cap_per_seller": 800,
    "dedupe_window_days": 30,
    "fields": [
        homeowner_field(required=False),
        multi_choice(
            "system_interest",
            "Interested in",
            [
                "alarm system",
                "video cameras",
                "video doorbell",
                "smart locks",
                "fire / smoke monitoring",
                "home automation",
            ],
            required=True,
            biddable=True,
        ),
        boolean("professional_monitoring", "Wants 24/7 professional monitoring", biddable=True),
        choice("install_preference", "Installation", ["professional", "DIY", "no preference"], biddable=True),
        boolean("has_existing_system", "Already has a system"),
        purchase_timeline_field(),
    ],
    "children": [
        {
            "slug": "home-security-residential",
            "name": "Residential Security",
            "description": "Homeowners and renters looking for a monitored alarm and camera system for their home.",
            "tagline": "Protect the home",
            "fields": [
                property_type_field(),
            ],
        },
        {
            "slug": "home-security-business",
            "name": "Business Security",
            "description": "Small business owners needing alarms, access control and video surveillance.",
            "tagline": "Security for storefronts and offices",
            "reserve_price": Decimal("30"),
            "daily_cap_per_seller": 200,
            "fields": [
                boolean("homeowner", "Owns the premises", biddable=True),
                choice(
                    "business_type",
                    "Business type",
                    ["retail", "office", "restaurant", "warehouse", "medical", "other"],
                    biddable=True,
                ),
                integer("location_count", "Number of locations", 1, 500),
            ],
        },
        {
            "slug": "home-security-smart-home",
            "name": "Smart Home Automation",
            "description": "Homeowners who want connected lighting, thermostats and locks controlled from one app.",
            "tagline": "Connected home installs",
            "status": "proposed",
            "reserve_price": Decimal("10"),
            "fields": [
                multi_choice(
                    "system_interest",
                    "Interested in",
                    ["smart thermostat", "smart lighting", "smart locks", "voice assistant", "video doorbell"],
                    required=True,
                    biddable=True,
                ),
            ],
        },
    ],
}

HOME_IMPROVEMENT = {
    "slug": "home-improvement",
    "name": "Home Improvement",
    "description": "Homeowners requesting contractor quotes for remodeling and exterior projects.",
    "tagline": "Remodeling projects from homeowners",
    "brand_color": "#ea580c",
    "reserve_price": Decimal("20"),
    "buy_now_multiplier": Decimal("1.4"),
    "quality_floor": 45,
    "daily_cap_per_seller": 400,
    "dedupe_window_days": 60,
    "fields": [
        homeowner_field(),
        property_type_field(),
        choice("budget_range", "Budget", BUDGET_RANGE, biddable=True),
        project_timeline_field(required=True),
    ],
    "children": [
        {
            "slug": "home-improvement-windows",
            "name": "Windows",
            "description": "Homeowners replacing or adding windows, often for energy efficiency.",
            "tagline": "Replacement window quotes",
            "reserve_price": Decimal("30"),
            "fields": [
                integer("window_count", "Number of windows", 1, 100, required=True, biddable=True),
                choice("window_material", "Preferred frame", ["vinyl", "wood", "fiberglass", "aluminum", "not sure"]),
            ],
        },
        {
            "slug": "home-improvement-bathroom",
            "name": "Bathroom Remodel",
            "description": "Homeowners planning a bathroom remodel, from a tub-to-shower conversion to a full gut.",
            "tagline": "Bathroom remodel estimates",
            "reserve_price": Decimal("35"),
            "fields": [
                choice(
                    "remodel_scope",
                    "Scope",
                    [
                        "full remodel",
                        "tub / shower replacement",
                        "tub-to-shower conversion",
                        "walk-in tub",
                        "vanity and fixtures",
                    ],
                    required=True,
                    biddable=True,
                ),
                boolean("accessibility_needs", "Needs accessibility features", biddable=True),
            ],
        },
        {
            "slug": "home-improvement-kitchen",
            "name": "Kitchen Remodel",
            "description": "Homeowners remodeling a kitchen: cabinets, countertops, layout changes and appliances.",
            "tagline": "Kitchen remodel estimates",
            "reserve_price": Decimal("35"),
            "fields": [
                choice(
                    "remodel_scope",
                    "Scope",
                    ["full remodel", "cabinets", "countertops", "cabinet refacing", "flooring", "backsplash"],
                    required=True,
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "home-improvement-gutters",
            "name": "Gutters",
            "description": "Homeowners installing, replacing or guarding gutters.",
            "tagline": "Gutter installs and guards",
            "reserve_price": Decimal("15"),
            "fields": [
                choice(
                    "gutter_service",
                    "Service",
                    ["new gutters", "replace gutters", "gutter guards", "repair"],
                    required=True,
                    biddable=True,
                ),
                integer("home_stories", "Stories", 1, 4),
            ],
        },
        {
            "slug": "home-improvement-siding",
            "name": "Siding",
            "description": "Homeowners replacing or repairing exterior siding.",
            "tagline": "Siding replacement quotes",
            "reserve_price": Decimal("30"),
            "fields": [
                choice(
                    "siding_material",
                    "Preferred siding",
                    ["vinyl", "fiber cement", "wood", "engineered wood", "stucco", "not sure"],
                    biddable=True,
                ),
                integer("home_stories", "Stories", 1, 4),
            ],
        },
        {
            "slug": "home-improvement-basement-waterproofing",
            "name": "Basement Waterproofing",
            "description": "Homeowners with wet basements or foundation seepage looking for waterproofing.",
            "tagline": "Dry basements and crawl spaces",
            "status": "proposed",
            "reserve_price": Decimal("30"),
            "fields": [
                multi_choice(
                    "water_issues",
                    "Issues",
                    ["standing water", "seepage", "mold / mildew", "foundation cracks", "humidity"],
                    biddable=True,
                ),
            ],
        },
    ],
}

MOVING = {
    "slug": "moving",
    "name": "Moving",
    "description": "Households requesting quotes from movers and auto transporters. Leads are time-sensitive "
    "and usually sold to several buyers.",
    "tagline": "Movers quotes for upcoming moves",
    "brand_color": "#65a30d",
    "reserve_price": Decimal("7"),
    "buy_now_multiplier": Decimal("1.3"),
    "dispute_window_hours": 24,
    "quality_floor": 35,
    "daily_cap_per_seller": 2000,
    "dedupe_window_days": 14,
    "fields": [
        date("move_date", "Planned move date", required=True, biddable=True),
        choice(
            "move_size",
            "Move size",
            ["studio", "1 bedroom", "2 bedrooms", "3 bedrooms", "4+ bedrooms", "office"],
            required=True,
            biddable=True,
        ),
        us_zip("destination_zip", "Destination ZIP code", biddable=True),
        boolean("needs_packing", "Needs packing services"),
    ],
    "children": [
        {
            "slug": "moving-local",
            "name": "Local Moving",
            "description": "In-town and in-state moves, usually priced by the hour.",
            "tagline": "Local movers",
            "reserve_price": Decimal("5"),
            "fields": [
                boolean("needs_storage", "Needs short-term storage"),
            ],
        },
        {
            "slug": "moving-long-distance",
            "name": "Long-Distance Moving",
            "description": "Interstate moves priced by weight and distance, handled by licensed interstate carriers.",
            "tagline": "Interstate movers",
            "reserve_price": Decimal("10"),
            "fields": [
                us_zip("destination_zip", "Destination ZIP code", required=True, biddable=True),
                boolean("has_vehicle_to_ship", "Also needs a vehicle shipped", biddable=True),
            ],
        },
        {
            "slug": "moving-auto-transport",
            "name": "Auto Transport",
            "description": "Consumers shipping a car across the country on an open or enclosed carrier.",
            "tagline": "Car shipping quotes",
            "reserve_price": Decimal("8"),
            "fields": [
                us_zip("destination_zip", "Destination ZIP code", required=True, biddable=True),
                integer("vehicle_year", "Vehicle year", 1950, 2027),
                text("vehicle_make_model", "Vehicle make and model"),
                choice("transport_type", "Carrier type", ["open", "enclosed", "no preference"], biddable=True),
                boolean("vehicle_runs", "Vehicle is operable", biddable=True),
            ],
        },
    ],
}

# --------------------------------------------------------------------------------------------
# Lending and finance
# --------------------------------------------------------------------------------------------

MORTGAGE = {
    "slug": "mortgage",
    "name": "Mortgage",
    "description": "Consumers shopping for a home loan: purchase, refinance, home equity and government-backed "
    "loans. Sold to licensed lenders and brokers.",
    "tagline": "Home loan shoppers, qualified on credit and equity",
    "brand_color": "#0ea5e9",
    "reserve_price": Decimal("40"),
    "buy_now_multiplier": Decimal("1.5"),
    "dispute_window_hours": 72,
    "quality_floor": 55,
    "daily_cap_per_seller": 250,
    "dedupe_window_days": 30,
    "fields": [
        decimal("loan_amount", "Requested loan amount (USD)", 10000, 5000000, required=True, biddable=True),
        decimal("property_value", "Estimated property value (USD)", 10000, 20000000, biddable=True),
        credit_band_field(required=True),
        property_type_field(),
        choice("occupancy", "Occupancy", ["primary residence", "second home", "investment property"], biddable=True),
        boolean("military_service", "Served in the U.S. military", biddable=True),
    ],
    "children": [
        {
            "slug": "mortgage-purchase",
            "name": "Home Purchase Loans",
            "description": "Buyers looking for a mortgage to purchase a home, from pre-approval to a signed "
            "purchase contract.",
            "tagline": "Home buyers seeking pre-approval",
            "reserve_price": Decimal("50"),
            "fields": [
                boolean("first_time_buyer", "First-time home buyer", biddable=True),
                decimal("down_payment_percent", "Down payment (%)", 0, 100, biddable=True),
                choice(
                    "purchase_stage",
                    "Purchase stage",
                    ["just researching", "making offers", "under contract", "found a home"],
                    biddable=True,
                ),
            ],
            "children": [],
        },
        {
            "slug": "mortgage-refinance",
            "name": "Refinance",
            "description": "Homeowners refinancing an existing mortgage to lower their rate or change their term.",
            "tagline": "Rate-and-term refinance",
            "fields": [
                decimal("current_interest_rate", "Current interest rate (%)", 0, 20, biddable=True),
                decimal("current_mortgage_balance", "Current mortgage balance (USD)", 0, 5000000, biddable=True),
                choice(
                    "loan_purpose",
                    "Goal",
                    ["lower rate or payment", "shorten term", "remove PMI", "switch ARM to fixed", "take cash out"],
                    required=True,
                    biddable=True,
                ),
            ],
            "children": [
                {
                    "slug": "mortgage-cash-out-refinance",
                    "name": "Cash-Out Refinance",
                    "description": "Homeowners replacing their mortgage with a larger loan to take equity out in cash.",
                    "tagline": "Turn home equity into cash",
                    "reserve_price": Decimal("55"),
                    "fields": [
                        decimal("cash_out_amount", "Desired cash out (USD)", 5000, 2000000, biddable=True),
                    ],
                },
            ],
        },
        {
            "slug": "mortgage-heloc",
            "name": "Home Equity Line of Credit (HELOC)",
            "description": "Homeowners who want a revolving credit line against their home equity while keeping "
            "their first mortgage.",
            "tagline": "Borrow against home equity",
            "reserve_price": Decimal("35"),
            "fields": [
                decimal(
                    "current_mortgage_balance",
                    "Current mortgage balance (USD)",
                    0,
                    5000000,
                    required=True,
                    biddable=True,
                ),
                choice(
                    "loan_purpose",
                    "Use of funds",
                    ["home improvement", "debt consolidation", "education", "emergency fund", "other"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "mortgage-reverse",
            "name": "Reverse Mortgage",
            "description": "Homeowners aged 62 and over exploring a Home Equity Conversion Mortgage (HECM) to "
            "access equity without monthly payments.",
            "tagline": "HECM leads for homeowners 62+",
            "reserve_price": Decimal("70"),
            "quality_floor": 60,
            "dedupe_window_days": 60,
            "fields": [
                integer("borrower_age", "Youngest borrower's age", 62, 110, required=True, biddable=True),
                decimal("current_mortgage_balance", "Current mortgage balance (USD)", 0, 5000000, biddable=True),
            ],
        },
        {
            "slug": "mortgage-va-loan",
            "name": "VA Loans",
            "description": "Veterans, service members and surviving spouses using their VA home loan benefit to "
            "buy or refinance.",
            "tagline": "VA purchase and IRRRL leads",
            "reserve_price": Decimal("55"),
            "fields": [
                choice(
                    "va_eligibility",
                    "Military status",
                    ["veteran", "active duty", "National Guard / Reserve", "surviving spouse"],
                    required=True,
                    biddable=True,
                ),
                choice(
                    "va_loan_type",
                    "VA loan type",
                    ["purchase", "IRRRL (streamline refinance)", "cash-out refinance"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "mortgage-fha-loan",
            "name": "FHA Loans",
            "description": "Buyers with smaller down payments or lower credit scores looking for an FHA-insured loan.",
            "tagline": "Low-down-payment FHA borrowers",
            "reserve_price": Decimal("30"),
            "fields": [
                boolean("first_time_buyer", "First-time home buyer", biddable=True),
                decimal("down_payment_percent", "Down payment (%)", 0, 100, biddable=True),
            ],
        },
        {
            "slug": "mortgage-jumbo",
            "name": "Jumbo Loans",
            "description": "Borrowers needing a loan above the conforming loan limit for high-value homes.",
            "tagline": "High-balance home loans",
            "status": "proposed",
            "reserve_price": Decimal("80"),
            "quality_floor": 65,
            "fields": [
                decimal("loan_amount", "Requested loan amount (USD)", 750000, 20000000, required=True, biddable=True),
            ],
        },
    ],
}

DEBT_RELIEF = {
    "slug": "debt-relief",
    "name": "Debt Relief",
    "description": "Consumers struggling with unsecured, tax or student loan debt who want help from a relief "
    "or settlement company.",
    "tagline": "Consumers ready to resolve their debt",
    "brand_color": "#059669",
    "reserve_price": Decimal("30"),
    "buy_now_multiplier": Decimal("1.4"),
    "dispute_window_hours": 48,
    "quality_floor": 50,
    "daily_cap_per_seller": 500,
    "dedupe_window_days": 30,
    "fields": [
        decimal("total_debt", "Total unsecured debt (USD)", 1000, 1000000, required=True, biddable=True),
        multi_choice(
            "debt_types",
            "Types of debt",
            ["credit cards", "personal loans", "medical bills", "store cards", "collections", "other"],
            biddable=True,
        ),
        boolean("behind_on_payments", "Behind on payments", biddable=True),
        choice("employment_status", "Employment", EMPLOYMENT_STATUS, biddable=True),
        credit_band_field(),
    ],
    "children": [
        {
            "slug": "debt-relief-settlement",
            "name": "Debt Settlement",
            "description": "Consumers with $10,000 or more in unsecured debt who want a company to negotiate "
            "reduced payoffs with creditors.",
            "tagline": "Negotiate debt down",
            "reserve_price": Decimal("45"),
            "fields": [
                decimal("total_debt", "Total unsecured debt (USD)", 10000, 1000000, required=True, biddable=True),
            ],
        },
        {
            "slug": "debt-relief-credit-counseling",
            "name": "Credit Counseling & Debt Management",
            "description": "Consumers looking for a non-profit debt management plan to lower interest rates and "
            "consolidate card payments.",
            "tagline": "Debt management plans",
            "reserve_price": Decimal("20"),
            "fields": [
                integer("credit_card_count", "Number of credit cards with balances", 0, 50),
            ],
        },
        {
            "slug": "debt-relief-tax",
            "name": "Tax Debt Relief",
            "description": "Taxpayers who owe the IRS or a state tax agency and want help with an installment "
            "agreement, offer in compromise or penalty abatement.",
            "tagline": "Back taxes resolved",
            "reserve_price": Decimal("50"),
            "fields": [
                decimal("total_debt", "Total tax debt (USD)", 1000, 5000000, required=True, biddable=True),
                choice("tax_authority", "Owed to", ["IRS", "state", "both"], biddable=True),
                boolean("unfiled_returns", "Has unfiled tax returns", biddable=True),
                boolean("received_levy_or_lien", "Received a levy or lien notice", biddable=True),
            ],
        },
        {
            "slug": "debt-relief-student-loans",
            "name": "Student Loan Relief",
            "description": "Borrowers looking for income-driven repayment, consolidation or forgiveness on their "
            "student loans.",
            "tagline": "Student loan repayment help",
            "reserve_price": Decimal("25"),
            "fields": [
                decimal("total_debt", "Total student loan balance (USD)", 1000, 1000000, required=True, biddable=True),
                choice("loan_holder", "Loan type", ["federal", "private", "both"], required=True, biddable=True),
                choice(
                    "repayment_status",
                    "Repayment status",
                    ["in repayment", "deferment / forbearance", "delinquent", "default"],
                    biddable=True,
                ),
            ],
        },
    ],
}

PERSONAL_LOANS = {
    "slug": "personal-loans",
    "name": "Personal Loans",
    "description": "Consumers applying for unsecured installment loans, matched to lenders by credit, income "
    "and purpose.",
    "tagline": "Loan applicants ready to borrow",
    "brand_color": "#4f46e5",
    "reserve_price": Decimal("20"),
    "buy_now_multiplier": Decimal("1.3"),
    "auction_duration_seconds": 30,
    "dispute_window_hours": 48,
    "quality_floor": 50,
    "daily_cap_per_seller": 1000,
    "dedupe_window_days": 30,
    "fields": [
        decimal("loan_amount", "Requested amount (USD)", 500, 100000, required=True, biddable=True),
        credit_band_field(required=True),
        decimal("annual_income", "Annual income (USD)", 0, 5000000, biddable=True),
        choice("employment_status", "Employment", EMPLOYMENT_STATUS, biddable=True),
        homeowner_field(required=False),
    ],
    "children": [
        {
            "slug": "personal-loans-debt-consolidation",
            "name": "Debt Consolidation Loans",
            "description": "Borrowers consolidating credit card balances into a single fixed-rate loan.",
            "tagline": "One payment, lower rate",
            "reserve_price": Decimal("25"),
            "fields": [
                decimal("debt_to_consolidate", "Debt to consolidate (USD)", 1000, 100000, biddable=True),
            ],
        },
        {
            "slug": "personal-loans-home-improvement",
            "name": "Home Improvement Loans",
            "description": "Homeowners financing a renovation with an unsecured personal loan.",
            "tagline": "Fund the remodel",
            "reserve_price": Decimal("22"),
            "fields": [
                homeowner_field(),
                choice(
                    "project_type",
                    "Project",
                    ["kitchen", "bathroom", "roof", "HVAC", "solar", "pool", "other"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "personal-loans-payday",
            "name": "Payday Loans",
            "description": "Short-term, high-cost cash advances. No longer traded on the marketplace because of "
            "state-by-state restrictions.",
            "tagline": "Retired vertical",
            "status": "deprecated",
            "reserve_price": Decimal("3"),
            "fields": [
                choice(
                    "pay_frequency", "Pay frequency", ["weekly", "bi-weekly", "semi-monthly", "monthly"], biddable=True
                ),
            ],
        },
    ],
}

# --------------------------------------------------------------------------------------------
# Insurance
# --------------------------------------------------------------------------------------------

AUTO_INSURANCE = {
    "slug": "auto-insurance",
    "name": "Auto Insurance",
    "description": "Drivers shopping for car insurance quotes. High volume, priced on insurance status, "
    "driving record and homeownership.",
    "tagline": "Drivers comparing car insurance",
    "brand_color": "#16a34a",
    "reserve_price": Decimal("12"),
    "buy_now_multiplier": Decimal("1.3"),
    "auction_duration_seconds": 30,
    "dispute_window_hours": 24,
    "quality_floor": 45,
    "daily_cap_per_seller": 2000,
    "dedupe_window_days": 30,
    "fields": [
        boolean("currently_insured", "Currently insured", required=True, biddable=True),
        text("current_insurer", "Current insurer"),
        integer("vehicle_count", "Vehicles to insure", 1, 10, biddable=True),
        integer("vehicle_year", "Primary vehicle year", 1980, 2027),
        text("vehicle_make_model", "Primary vehicle make and model"),
        integer("accidents_last_3_years", "At-fault accidents in the last 3 years", 0, 20, biddable=True),
        homeowner_field(required=False),
    ],
    "children": [
        {
            "slug": "auto-insurance-personal",
            "name": "Personal Auto Insurance",
            "description": "Drivers with a standard record looking for personal car insurance.",
            "tagline": "Standard personal auto",
            "fields": [
                choice(
                    "coverage_level", "Desired coverage", ["state minimum", "standard", "full coverage"], biddable=True
                ),
                text("vehicle_vin", "Vehicle VIN", pii=True),
            ],
        },
        {
            "slug": "auto-insurance-high-risk",
            "name": "High-Risk & SR-22 Auto Insurance",
            "description": "Drivers with DUIs, suspensions or multiple violations who need non-standard coverage "
            "or an SR-22 filing.",
            "tagline": "Non-standard auto and SR-22",
            "reserve_price": Decimal("18"),
            "fields": [
                boolean("sr22_required", "Needs an SR-22 filing", required=True, biddable=True),
                boolean("dui_last_5_years", "DUI in the last 5 years", biddable=True),
                choice(
                    "license_status", "License status", ["valid", "suspended", "revoked", "reinstated"], biddable=True
                ),
            ],
        },
        {
            "slug": "auto-insurance-commercial",
            "name": "Commercial Auto Insurance",
            "description": "Business owners insuring work trucks, vans and fleets.",
            "tagline": "Business vehicles and fleets",
            "reserve_price": Decimal("20"),
            "daily_cap_per_seller": 300,
            "fields": [
                integer("vehicle_count", "Vehicles in fleet", 1, 500, required=True, biddable=True),
                choice(
                    "business_type",
                    "Business type",
                    ["contractor", "delivery / courier", "trucking", "landscaping", "rideshare / livery", "other"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "auto-insurance-classic-car",
            "name": "Classic Car Insurance",
            "description": "Owners of collector and antique vehicles looking for agreed-value coverage.",
            "tagline": "Agreed-value collector coverage",
            "status": "proposed",
            "reserve_price": Decimal("15"),
            "fields": [
                integer("vehicle_year", "Vehicle year", 1900, 2005, required=True, biddable=True),
                decimal("agreed_value", "Estimated vehicle value (USD)", 1000, 5000000, biddable=True),
            ],
        },
    ],
}

HOME_INSURANCE = {
    "slug": "home-insurance",
    "name": "Home Insurance",
    "description": "Property owners shopping for homeowners, condo, landlord and flood insurance.",
    "tagline": "Property owners comparing home insurance",
    "brand_color": "#0d9488",
    "reserve_price": Decimal("15"),
    "buy_now_multiplier": Decimal("1.3"),
    "dispute_window_hours": 48,
    "quality_floor": 45,
    "daily_cap_per_seller": 1000,
    "dedupe_window_days": 30,
    "fields": [
        property_type_field(required=True),
        decimal("home_value", "Estimated home value (USD)", 10000, 20000000, biddable=True),
        integer("year_built", "Year built", 1700, 2027, biddable=True),
        boolean("currently_insured", "Currently insured", biddable=True),
        integer("claims_last_5_years", "Claims in the last 5 years", 0, 20, biddable=True),
        text("current_policy_number", "Current policy number", pii=True),
    ],
    "children": [
        {
            "slug": "home-insurance-homeowners",
            "name": "Homeowners Insurance",
            "description": "Owners of single-family homes looking for an HO-3 policy, often bundled with auto.",
            "tagline": "HO-3 homeowners policies",
            "fields": [
                boolean("bundle_auto", "Interested in bundling auto", biddable=True),
            ],
        },
        {
            "slug": "home-insurance-condo",
            "name": "Condo Insurance",
            "description": "Condominium owners who need an HO-6 policy covering interiors and personal property.",
            "tagline": "HO-6 condo policies",
            "reserve_price": Decimal("10"),
            "fields": [
                decimal("personal_property_value", "Personal property value (USD)", 0, 2000000),
            ],
        },
        {
            "slug": "home-insurance-landlord",
            "name": "Landlord Insurance",
            "description": "Owners of rental properties looking for dwelling fire and liability coverage.",
            "tagline": "Rental property coverage",
            "reserve_price": Decimal("20"),
            "fields": [
                integer("rental_units", "Rental units", 1, 100, biddable=True),
            ],
        },
        {
            "slug": "home-insurance-flood",
            "name": "Flood Insurance",
            "description": "Property owners buying NFIP or private flood coverage, often required by their lender.",
            "tagline": "NFIP and private flood",
            "reserve_price": Decimal("18"),
            "fields": [
                choice(
                    "flood_zone",
                    "FEMA flood zone",
                    ["A / AE (high risk)", "V / VE (coastal high risk)", "X (moderate or low risk)", "not sure"],
                    biddable=True,
                ),
                boolean("lender_required", "Required by mortgage lender", biddable=True),
            ],
        },
    ],
}

LIFE_INSURANCE = {
    "slug": "life-insurance",
    "name": "Life Insurance",
    "description": "Consumers shopping for term, whole and final expense life insurance.",
    "tagline": "Families protecting their income",
    "brand_color": "#7c3aed",
    "reserve_price": Decimal("25"),
    "buy_now_multiplier": Decimal("1.4"),
    "dispute_window_hours": 72,
    "quality_floor": 50,
    "daily_cap_per_seller": 500,
    "dedupe_window_days": 60,
    "fields": [
        decimal("coverage_amount", "Coverage amount (USD)", 10000, 10000000, required=True, biddable=True),
        integer("applicant_age", "Age", 18, 85, required=True, biddable=True),
        date_of_birth_field(),
        boolean("tobacco_use", "Used tobacco or nicotine in the last 12 months", biddable=True),
        choice("health_rating", "Overall health", HEALTH_RATING, biddable=True),
        boolean("has_existing_policy", "Already has life insurance"),
    ],
    "children": [
        {
            "slug": "life-insurance-term",
            "name": "Term Life Insurance",
            "description": "Applicants looking for 10- to 30-year level term coverage.",
            "tagline": "Level term coverage",
            "fields": [
                choice(
                    "term_length",
                    "Term length",
                    ["10 years", "15 years", "20 years", "25 years", "30 years"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "life-insurance-whole",
            "name": "Whole Life Insurance",
            "description": "Applicants interested in permanent coverage with cash value, including universal life.",
            "tagline": "Permanent coverage with cash value",
            "reserve_price": Decimal("35"),
            "fields": [
                decimal("monthly_budget", "Monthly premium budget (USD)", 10, 10000, biddable=True),
            ],
        },
        {
            "slug": "life-insurance-final-expense",
            "name": "Final Expense Insurance",
            "description": "Seniors buying small whole-life policies to cover funeral and end-of-life costs.",
            "tagline": "Burial and final expense coverage",
            "reserve_price": Decimal("20"),
            "fields": [
                decimal("coverage_amount", "Coverage amount (USD)", 2000, 50000, required=True, biddable=True),
                integer("applicant_age", "Age", 50, 90, required=True, biddable=True),
            ],
        },
        {
            "slug": "life-insurance-no-exam",
            "name": "No-Exam Life Insurance",
            "description": "Applicants who want accelerated or simplified-issue coverage without a medical exam.",
            "tagline": "Coverage without a medical exam",
            "status": "proposed",
            "fields": [
                multi_choice(
                    "health_conditions",
                    "Health conditions",
                    ["none", "diabetes", "heart disease", "high blood pressure", "cancer history", "COPD", "other"],
                ),
            ],
        },
    ],
}

HEALTH_INSURANCE = {
    "slug": "health-insurance",
    "name": "Health Insurance",
    "description": "Individuals, families and small employers shopping for health coverage under age 65.",
    "tagline": "Under-65 health coverage shoppers",
    "brand_color": "#e11d48",
    "reserve_price": Decimal("20"),
    "buy_now_multiplier": Decimal("1.3"),
    "dispute_window_hours": 48,
    "quality_floor": 45,
    "daily_cap_per_seller": 1000,
    "dedupe_window_days": 30,
    "fields": [
        integer("household_size", "Household size", 1, 15, required=True, biddable=True),
        decimal("annual_household_income", "Annual household income (USD)", 0, 5000000, biddable=True),
        boolean("currently_insured", "Currently insured", biddable=True),
        integer("applicant_age", "Age of primary applicant", 0, 64, biddable=True),
        boolean("pre_existing_conditions", "Has pre-existing conditions"),
    ],
    "children": [
        {
            "slug": "health-insurance-aca",
            "name": "ACA Individual & Family Plans",
            "description": "Consumers enrolling in Affordable Care Act marketplace plans during open enrollment or "
            "a special enrollment period.",
            "tagline": "Marketplace plans with subsidies",
            "fields": [
                choice(
                    "qualifying_life_event",
                    "Qualifying life event",
                    ["open enrollment", "lost coverage", "moved", "married", "had a baby", "none"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "health-insurance-short-term",
            "name": "Short-Term Health Insurance",
            "description": "Consumers between jobs or waiting for coverage who want a temporary medical plan.",
            "tagline": "Temporary coverage",
            "reserve_price": Decimal("12"),
            "fields": [
                choice(
                    "coverage_needed_months",
                    "Coverage needed for",
                    ["1-3 months", "3-6 months", "6-12 months"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "health-insurance-small-group",
            "name": "Small Group Health Insurance",
            "description": "Small business owners setting up group health benefits for their employees.",
            "tagline": "Employer health benefits",
            "reserve_price": Decimal("45"),
            "daily_cap_per_seller": 200,
            "fields": [
                integer("employee_count", "Number of employees", 1, 100, required=True, biddable=True),
                boolean("offers_coverage_now", "Currently offers health benefits", biddable=True),
            ],
        },
    ],
}

MEDICARE = {
    "slug": "medicare",
    "name": "Medicare",
    "description": "Medicare beneficiaries and those turning 65 comparing Medicare Advantage, Supplement and "
    "Part D plans. Sold to licensed agents; subject to CMS marketing rules.",
    "tagline": "Seniors comparing Medicare plans",
    "brand_color": "#1d4ed8",
    "reserve_price": Decimal("25"),
    "buy_now_multiplier": Decimal("1.4"),
    "dispute_window_hours": 72,
    "quality_floor": 60,
    "daily_cap_per_seller": 500,
    "dedupe_window_days": 60,
    "fields": [
        integer("applicant_age", "Age", 60, 110, required=True, biddable=True),
        boolean("enrolled_parts_a_b", "Enrolled in Medicare Parts A and B", biddable=True),
        choice(
            "current_coverage",
            "Current coverage",
            ["Original Medicare only", "Medicare Advantage", "Medicare Supplement", "employer plan", "none"],
            biddable=True,
        ),
        boolean("medicaid_eligible", "Also eligible for Medicaid", biddable=True),
        date_of_birth_field(),
        text("medicare_beneficiary_id", "Medicare Beneficiary Identifier (MBI)", pii=True),
    ],
    "children": [
        {
            "slug": "medicare-advantage",
            "name": "Medicare Advantage",
            "description": "Beneficiaries interested in a Part C plan with bundled drug, dental and vision benefits.",
            "tagline": "Part C plans",
            "fields": [
                choice(
                    "preferred_plan_type",
                    "Preferred plan type",
                    ["HMO", "PPO", "PFFS", "Special Needs Plan", "not sure"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "medicare-supplement",
            "name": "Medicare Supplement (Medigap)",
            "description": "Beneficiaries on Original Medicare looking for a Medigap plan to cover out-of-pocket costs.",
            "tagline": "Medigap Plans G and N",
            "reserve_price": Decimal("30"),
            "fields": [
                choice(
                    "medigap_plan_interest",
                    "Plan of interest",
                    ["Plan G", "Plan N", "Plan F", "High-deductible G", "not sure"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "medicare-part-d",
            "name": "Medicare Part D",
            "description": "Beneficiaries choosing a stand-alone prescription drug plan.",
            "tagline": "Prescription drug plans",
            "reserve_price": Decimal("12"),
            "fields": [
                integer("prescription_count", "Number of regular prescriptions", 0, 50, biddable=True),
            ],
        },
    ],
}

# --------------------------------------------------------------------------------------------
# Legal
# --------------------------------------------------------------------------------------------

MASS_TORT = {
    "slug": "legal-mass-tort",
    "name": "Mass Tort",
    "description": "Claimants who may qualify for an active mass tort or multidistrict litigation. Sold to "
    "law firms as signed-retainer-ready intake.",
    "tagline": "Pre-screened mass tort claimants",
    "reserve_price": Decimal("150"),
    "buy_now_multiplier": Decimal("1.5"),
    "auction_duration_seconds": 300,
    "dispute_window_hours": 240,
    "quality_floor": 70,
    "daily_cap_per_seller": 50,
    "dedupe_window_days": 365,
    "fields": [
        date("incident_date", "Date of first exposure or use", biddable=True),
        date("diagnosis_date", "Date of diagnosis", biddable=True),
        integer("exposure_years", "Years of exposure or use", 0, 70, biddable=True),
        boolean("has_medical_records", "Has medical records of the diagnosis", biddable=True),
    ],
    "children": [
        {
            "slug": "mass-tort-camp-lejeune",
            "name": "Camp Lejeune Water Contamination",
            "description": "Veterans, family members and civilian workers who lived or worked at Camp Lejeune for "
            "at least 30 days between 1953 and 1987 and were later diagnosed with a listed illness.",
            "tagline": "Camp Lejeune Justice Act claimants",
            "reserve_price": Decimal("250"),
            "fields": [
                choice(
                    "diagnosis",
                    "Diagnosis",
                    [
                        "bladder cancer",
                        "kidney cancer",
                        "liver cancer",
                        "non-Hodgkin lymphoma",
                        "leukemia",
                        "multiple myeloma",
                        "Parkinson's disease",
                        "kidney disease",
                        "systemic sclerosis",
                    ],
                    required=True,
                    biddable=True,
                ),
                integer(
                    "days_at_camp_lejeune", "Days at Camp Lejeune (1953-1987)", 30, 15000, required=True, biddable=True
                ),
                choice(
                    "camp_lejeune_relationship",
                    "Connection",
                    ["Marine / Navy veteran", "family member", "civilian worker"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "mass-tort-hair-relaxer",
            "name": "Hair Relaxer",
            "description": "Women who regularly used chemical hair straighteners and were later diagnosed with "
            "uterine, endometrial or ovarian cancer.",
            "tagline": "Chemical straightener cancer claims",
            "reserve_price": Decimal("200"),
            "fields": [
                choice(
                    "diagnosis",
                    "Diagnosis",
                    ["uterine cancer", "endometrial cancer", "ovarian cancer", "hysterectomy before age 40"],
                    required=True,
                    biddable=True,
                ),
                text("product_brand", "Product brand(s) used"),
            ],
        },
        {
            "slug": "mass-tort-roundup",
            "name": "Roundup (Glyphosate)",
            "description": "People exposed to Roundup weed killer who were diagnosed with non-Hodgkin lymphoma.",
            "tagline": "Glyphosate NHL claims",
            "reserve_price": Decimal("175"),
            "fields": [
                choice(
                    "diagnosis",
                    "Diagnosis",
                    ["non-Hodgkin lymphoma", "B-cell lymphoma", "T-cell lymphoma", "chronic lymphocytic leukemia"],
                    required=True,
                    biddable=True,
                ),
                choice(
                    "exposure_context",
                    "How exposed",
                    ["farming", "landscaping / groundskeeping", "residential use", "other"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "mass-tort-3m-earplugs",
            "name": "3M Combat Arms Earplugs",
            "description": "Service members who used 3M Combat Arms Earplugs and developed hearing loss or "
            "tinnitus. Retired after the 2023 global settlement closed intake.",
            "tagline": "Intake closed",
            "status": "deprecated",
            "reserve_price": Decimal("100"),
            "fields": [
                choice("diagnosis", "Diagnosis", ["hearing loss", "tinnitus", "both"], required=True, biddable=True),
                boolean("served_2003_2015", "Served between 2003 and 2015", biddable=True),
            ],
        },
        {
            "slug": "mass-tort-glp1",
            "name": "GLP-1 Weight-Loss Drugs",
            "description": "Patients who took a GLP-1 medication and were diagnosed with gastroparesis, bowel "
            "obstruction or vision loss.",
            "tagline": "Ozempic and Mounjaro injury claims",
            "status": "proposed",
            "reserve_price": Decimal("150"),
            "fields": [
                choice(
                    "medication",
                    "Medication",
                    ["Ozempic", "Wegovy", "Mounjaro", "Zepbound", "Saxenda", "Trulicity", "other"],
                    required=True,
                    biddable=True,
                ),
                choice(
                    "diagnosis",
                    "Diagnosis",
                    ["gastroparesis", "bowel obstruction", "ileus", "NAION (vision loss)", "other"],
                    required=True,
                    biddable=True,
                ),
            ],
        },
    ],
}

LEGAL = {
    "slug": "legal",
    "name": "Legal",
    "description": "People seeking an attorney for an injury, claim or legal matter. Sold to law firms for "
    "case intake; exclusive by default.",
    "tagline": "Potential clients looking for an attorney",
    "brand_color": "#1e3a8a",
    "reserve_price": Decimal("60"),
    "buy_now_multiplier": Decimal("1.5"),
    "auction_duration_seconds": 120,
    "dispute_window_hours": 168,
    "quality_floor": 60,
    "daily_cap_per_seller": 100,
    "dedupe_window_days": 180,
    "fields": [
        boolean("has_attorney", "Already has an attorney", required=True, biddable=True),
        date("incident_date", "Date of incident", biddable=True),
        text(
            "case_description",
            "Description of what happened",
            pii=True,
            help_text="Free text; may contain personal details.",
        ),
    ],
    "children": [
        {
            "slug": "legal-personal-injury",
            "name": "Personal Injury",
            "description": "Injured people looking for a personal injury lawyer after an accident.",
            "tagline": "Injury victims seeking representation",
            "reserve_price": Decimal("80"),
            "fields": [
                choice(
                    "accident_type",
                    "Type of accident",
                    [
                        "car accident",
                        "truck accident",
                        "motorcycle accident",
                        "slip and fall",
                        "dog bite",
                        "medical malpractice",
                        "other",
                    ],
                    required=True,
                    biddable=True,
                ),
                choice(
                    "injury_severity",
                    "Injury severity",
                    ["minor", "moderate", "severe", "permanent / catastrophic", "wrongful death"],
                    biddable=True,
                ),
                boolean("received_medical_treatment", "Received medical treatment", biddable=True),
                boolean("missed_work", "Missed work because of the injury"),
            ],
            "children": [
                {
                    "slug": "personal-injury-auto-accident",
                    "name": "Auto Accident",
                    "description": "Drivers, passengers and pedestrians injured in a motor vehicle accident "
                    "caused by someone else.",
                    "tagline": "Motor vehicle accident claims",
                    "reserve_price": Decimal("100"),
                    "fields": [
                        choice(
                            "accident_type",
                            "Vehicle involved",
                            ["car", "truck / 18-wheeler", "motorcycle", "rideshare", "pedestrian", "bicycle"],
                            required=True,
                            biddable=True,
                        ),
                        boolean("at_fault", "Was at fault", biddable=True),
                        boolean("police_report_filed", "Police report filed", biddable=True),
                    ],
                },
                {
                    "slug": "personal-injury-slip-and-fall",
                    "name": "Slip and Fall",
                    "description": "People injured by a fall on someone else's property, such as a store, "
                    "restaurant or apartment complex.",
                    "tagline": "Premises liability claims",
                    "fields": [
                        choice(
                            "accident_type",
                            "Type of fall",
                            ["slip and fall", "trip and fall", "stairway fall", "falling object"],
                            required=True,
                            biddable=True,
                        ),
                        choice(
                            "location_type",
                            "Where it happened",
                            ["store", "restaurant", "apartment / rental", "workplace", "public property", "other"],
                            biddable=True,
                        ),
                    ],
                },
                {
                    "slug": "personal-injury-medical-malpractice",
                    "name": "Medical Malpractice",
                    "description": "Patients harmed by a doctor's, hospital's or nursing home's negligence.",
                    "tagline": "Medical negligence claims",
                    "reserve_price": Decimal("120"),
                    "fields": [
                        choice(
                            "accident_type",
                            "Type of malpractice",
                            [
                                "misdiagnosis",
                                "surgical error",
                                "birth injury",
                                "medication error",
                                "anesthesia error",
                                "nursing home neglect",
                            ],
                            required=True,
                            biddable=True,
                        ),
                        choice(
                            "provider_type",
                            "Provider",
                            ["hospital", "physician", "nursing home", "pharmacy", "other"],
                            biddable=True,
                        ),
                    ],
                },
            ],
        },
        MASS_TORT,
        {
            "slug": "legal-workers-compensation",
            "name": "Workers' Compensation",
            "description": "Employees injured on the job who need help filing or appealing a workers' "
            "compensation claim.",
            "tagline": "Workplace injury claims",
            "reserve_price": Decimal("70"),
            "fields": [
                choice(
                    "injury_type",
                    "Injury",
                    [
                        "back / neck",
                        "repetitive strain",
                        "broken bones",
                        "head injury",
                        "occupational illness",
                        "other",
                    ],
                    biddable=True,
                ),
                boolean("reported_to_employer", "Reported to employer", required=True, biddable=True),
                boolean("currently_working", "Currently working", biddable=True),
                choice(
                    "claim_status", "Claim status", ["not filed", "filed, pending", "denied", "approved"], biddable=True
                ),
            ],
        },
        {
            "slug": "legal-bankruptcy",
            "name": "Bankruptcy",
            "description": "Consumers considering Chapter 7 or Chapter 13 bankruptcy who want a consultation.",
            "tagline": "Chapter 7 and 13 consultations",
            "reserve_price": Decimal("40"),
            "dedupe_window_days": 90,
            "fields": [
                decimal("total_debt", "Total debt (USD)", 0, 10000000, required=True, biddable=True),
                choice("chapter_interest", "Chapter", ["Chapter 7", "Chapter 13", "not sure"], biddable=True),
                decimal("monthly_household_income", "Monthly household income (USD)", 0, 1000000),
                multi_choice(
                    "facing",
                    "Currently facing",
                    ["foreclosure", "wage garnishment", "repossession", "lawsuit", "none"],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "legal-dui",
            "name": "DUI / DWI Defense",
            "description": "People recently arrested for driving under the influence who need a defense attorney "
            "before their court date.",
            "tagline": "DUI defense, time-sensitive",
            "reserve_price": Decimal("50"),
            "dedupe_window_days": 60,
            "fields": [
                date("incident_date", "Arrest date", required=True, biddable=True),
                integer("prior_dui_count", "Prior DUI convictions", 0, 10, biddable=True),
                boolean("license_suspended", "License suspended"),
                boolean("commercial_driver", "Holds a commercial driver's license (CDL)", biddable=True),
            ],
        },
        {
            "slug": "legal-family-law",
            "name": "Family Law",
            "description": "People seeking help with divorce, child custody, support or adoption.",
            "tagline": "Divorce and custody consultations",
            "reserve_price": Decimal("45"),
            "fields": [
                choice(
                    "case_type",
                    "Matter",
                    ["divorce", "child custody", "child support", "alimony", "adoption", "prenuptial agreement"],
                    required=True,
                    biddable=True,
                ),
                boolean("contested", "Contested", biddable=True),
                boolean("children_involved", "Minor children involved", biddable=True),
            ],
        },
    ],
}

# --------------------------------------------------------------------------------------------
# Education
# --------------------------------------------------------------------------------------------

EDUCATION = {
    "slug": "education",
    "name": "Education",
    "description": "Prospective students requesting information from colleges, universities and career schools.",
    "tagline": "Prospective students ready to enroll",
    "brand_color": "#9333ea",
    "reserve_price": Decimal("30"),
    "buy_now_multiplier": Decimal("1.4"),
    "dispute_window_hours": 72,
    "quality_floor": 50,
    "daily_cap_per_seller": 500,
    "dedupe_window_days": 90,
    "fields": [
        choice(
            "education_level",
            "Highest education completed",
            [
                "some high school",
                "high school / GED",
                "some college",
                "associate degree",
                "bachelor's degree",
                "master's or higher",
            ],
            required=True,
            biddable=True,
        ),
        choice(
            "desired_degree",
            "Desired credential",
            ["certificate", "associate", "bachelor's", "master's", "doctorate"],
            biddable=True,
        ),
        choice("learning_format", "Format", ["online", "on campus", "hybrid", "no preference"], biddable=True),
        choice(
            "start_timeline",
            "Planned start",
            ["immediately", "within 3 months", "3-6 months", "6+ months"],
            biddable=True,
        ),
        boolean("military_affiliation", "Military or veteran", biddable=True),
        integer("high_school_graduation_year", "High school graduation year", 1950, 2030),
    ],
    "children": [
        {
            "slug": "education-online-degrees",
            "name": "Online Degrees",
            "description": "Working adults looking for online degree programs.",
            "tagline": "Online degree programs",
            "fields": [
                choice(
                    "area_of_interest",
                    "Area of interest",
                    [
                        "business",
                        "computer science / IT",
                        "healthcare",
                        "criminal justice",
                        "education",
                        "psychology",
                        "other",
                    ],
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "education-nursing",
            "name": "Nursing & Healthcare Programs",
            "description": "Students interested in nursing (CNA, LPN, RN, BSN) and allied health programs.",
            "tagline": "Nursing and allied health",
            "reserve_price": Decimal("40"),
            "fields": [
                choice(
                    "program",
                    "Program",
                    ["CNA", "LPN", "RN (ADN)", "RN-to-BSN", "BSN", "medical assistant", "other allied health"],
                    required=True,
                    biddable=True,
                ),
                boolean("licensed_nurse", "Already a licensed nurse"),
            ],
        },
        {
            "slug": "education-trade-school",
            "name": "Trade & Vocational School",
            "description": "Students looking for hands-on career training in the skilled trades.",
            "tagline": "Skilled trades training",
            "reserve_price": Decimal("25"),
            "fields": [
                choice(
                    "trade",
                    "Trade",
                    ["HVAC", "electrician", "welding", "plumbing", "automotive", "commercial driving (CDL)", "other"],
                    required=True,
                    biddable=True,
                ),
            ],
        },
        {
            "slug": "education-graduate",
            "name": "Graduate & MBA Programs",
            "description": "Bachelor's holders looking for master's, MBA and doctoral programs.",
            "tagline": "Graduate and MBA programs",
            "reserve_price": Decimal("45"),
            "fields": [
                choice(
                    "area_of_interest",
                    "Area of interest",
                    ["MBA", "education", "nursing (MSN)", "data science", "public health", "social work", "other"],
                    required=True,
                    biddable=True,
                ),
                integer("years_work_experience", "Years of work experience", 0, 60, biddable=True),
            ],
        },
    ],
}

# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------

VERTICALS: list[dict] = [
    SOLAR,
    MORTGAGE,
    AUTO_INSURANCE,
    HOME_INSURANCE,
    LIFE_INSURANCE,
    HEALTH_INSURANCE,
    MEDICARE,
    ROOFING,
    LEGAL,
    HVAC,
    HOME_SECURITY,
    DEBT_RELIEF,
    PERSONAL_LOANS,
    HOME_IMPROVEMENT,
    MOVING,
    EDUCATION,
]


def _inherit_brand_color(nodes: list[dict], colour: str | None = None) -> None:
    """Give children without their own brand colour their top-level vertical's colour."""
    for node in nodes:
        if colour is not None:
            node.setdefault("brand_color", colour)
        _inherit_brand_color(node.get("children", []), node.get("brand_color"))


_inherit_brand_color(VERTICALS)
