"""A bulk action in the admin meets the administrator's moderation rate limit: what was done stays done, the rest is
not done, and the administrator is told so on the list (not a bare 429 page half-way through)."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from debates import services
from debates.models import Comment
from tests.debates.conftest import make_debate

pytestmark = pytest.mark.django_db


def test_hiding_more_comments_than_the_limit_stops_and_says_so(rate_limits, settings, admin_user, fiona, alice):
    settings.RATE_LIMITS = {"moderate": "2/60"}
    debate = make_debate(fiona)
    comments = [services.post_comment(author=alice, debate=debate, body=f"Avis {n}") for n in range(3)]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    response = client.post("/admin/debates/comment/", {
        "action": "hide", "_selected_action": [c.pk for c in comments]})
    assert response.status_code == 302
    assert Comment.objects.filter(hidden_at__isnull=False).count() == 2
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("Stopped after 2 of 3: Too many attempts.") for m in said), said
