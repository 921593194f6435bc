from django.db import models


class DebateQuerySet(models.QuerySet):
    def home_page(self):
        return self.order_by("-pk")


class Debate(models.Model):
    title = models.CharField(max_length=200)

    objects = DebateQuerySet.as_manager()

    def __str__(self):
        return self.title
