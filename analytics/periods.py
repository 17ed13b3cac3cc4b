"""The date range a dashboard shows, in the viewer's time zone, and the period before it."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

PRESETS = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PRESET = "30d"
MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    zone: ZoneInfo
    preset: str = ""  # "7d", "30d", "90d" or "" (custom dates)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of the first day to local midnight after the last."""
        first = datetime.combine(self.start, time.min, tzinfo=self.zone)
        after = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.zone)
        return first.astimezone(UTC), after.astimezone(UTC)

    def previous(self) -> "Period":
        """The period of the same length just before this one (the comparison)."""
        length = timedelta(days=self.days)
        return Period(start=self.start - length, end=self.end - length, zone=self.zone)

    def params(self) -> dict[str, str]:
        if self.preset:
            return {"range": self.preset}
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def label(self) -> str:
        if self.preset:
            return f"Last {PRESETS[self.preset]} days"
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def zone_of(user) -> ZoneInfo:
    return ZoneInfo(getattr(user, "time_zone", "") or "UTC")


def period_parse(params, *, zone: ZoneInfo, now: datetime | None = None) -> Period:
    """A Period from GET parameters: `range` (7d, 30d, 90d; the last days up to today) or `start`
    and `end` (YYYY-MM-DD, inclusive, at most MAX_DAYS days). ValidationError names the field."""
    today = (now or timezone.now()).astimezone(zone).date()
    start_raw, end_raw = (params.get("start") or "").strip(), (params.get("end") or "").strip()
    if start_raw or end_raw:
        errors, parsed = {}, {}
        for name, raw in (("start", start_raw), ("end", end_raw)):
            try:
                parsed[name] = date.fromisoformat(raw)
            except ValueError:
                errors[name] = "Enter a date as YYYY-MM-DD." if raw else "Enter both the first and the last day."
        if errors:
            raise ValidationError(errors)
        start, end = parsed["start"], parsed["end"]
        # Far dates would overflow the period before and the day after (a 500): none hold figures.
        for name, day in (("start", start), ("end", end)):
            if not EARLIEST <= day <= LATEST:
                raise ValidationError({name: f"Choose a day between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}."})
        if start > end:
            raise ValidationError({"end": "The last day comes before the first."})
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError({"start": f"Choose at most {MAX_DAYS} days."})
        return Period(start=start, end=end, zone=zone)
    preset = (params.get("range") or DEFAULT_PRESET).strip()
    if preset not in PRESETS:
        raise ValidationError({"range": f"Choose one of {', '.join(PRESETS)}."})
    days = PRESETS[preset]
    return Period(start=today - timedelta(days=days - 1), end=today, zone=zone, preset=preset)
