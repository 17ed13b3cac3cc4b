"""The marketplace's own pages: the home page (the auction floor is auctions' views)."""

from django.shortcuts import render

from verticals.selectors import vertical_list


def home(request):
    top = vertical_list(top_level=True, status="active")[:12]
    return render(request, "home.html", {"top_verticals": top})
