from django.http import Http404
from django.shortcuts import render

from verticals import selectors
from verticals.models import Vertical


def vertical_list(request):
    return render(request, "verticals/list.html", {"tree": selectors.vertical_tree()})


def vertical_detail(request, slug: str):
    try:
        vertical = selectors.vertical_get(slug=slug)
    except Vertical.DoesNotExist:
        raise Http404("No such vertical.") from None
    return render(
        request,
        "verticals/detail.html",
        {
            "vertical": vertical,
            "ancestors": selectors.vertical_ancestors(vertical=vertical)[:-1],
            "fields": selectors.vertical_fields_effective(vertical=vertical),
            "children": selectors.vertical_list(parent_slug=vertical.slug),
        },
    )
