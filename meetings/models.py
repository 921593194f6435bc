from django.db import models


class MeetingQuerySet(models.QuerySet):
    def home_page(self):
        return self.order_by("-pk")


class Meeting(models.Model):
    title = models.CharField(max_length=200)

    objects = MeetingQuerySet.as_manager()

    def __str__(self):
        return self.title
