"""`{% load analytics_display %}`: dashboard figures written with their units (analytics.formatting)."""

from django import template

from analytics.formatting import age_text, change_text, seconds_text, value_text

register = template.Library()


@register.filter
def figure(value, unit):
    return value_text(value, unit)


@register.filter
def change(value):
    return change_text(value)


@register.filter
def age(value):
    return age_text(value)


@register.filter
def seconds(value):
    return seconds_text(value)


@register.filter
def cell(row, key):
    return row.get(key)


@register.simple_tag
def trend_class(kpi) -> str:
    """ "good" / "bad" / "" for the comparison's colour: up is good unless the measure says down."""
    change = kpi["change"]
    if change is None or change == 0:
        return ""
    good = (change > 0) == (kpi["measure"].better == "up")
    return "good" if good else "bad"
