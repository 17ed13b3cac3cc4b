"""Template filters that write values for people: `{% load display %}`.

{{ sale.price|usdc }}          52.50 USDC
{{ sale.created_at|when }}     5 Dec 2026, 19:21 UTC   (|when:"s" adds seconds)
{{ listing.expires_at|day }}   5 Dec 2026
{{ vertical.royalty_bps|bps }}  2%
"""

from django import template

from core.display import bps_text, day_text, moment_text, usdc_text

register = template.Library()


@register.filter
def usdc(value):
    return usdc_text(value)


@register.filter
def when(value, arg=""):
    return moment_text(value, seconds=arg == "s")


@register.filter
def day(value):
    return day_text(value)


@register.filter
def bps(value):
    return bps_text(value)
