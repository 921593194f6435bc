from django.shortcuts import render

from debates.models import Debate


def debate_list(request):
    return render(request, "debates/debate_list.html", {"items": Debate.objects.all()})
