from django.shortcuts import render

from meetings.models import Meeting


def meeting_list(request):
    return render(request, "meetings/meeting_list.html", {"items": Meeting.objects.all()})
