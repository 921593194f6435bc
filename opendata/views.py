"""Open data: one page listing the datasets, each streamed as CSV or JSON (StreamingHttpResponse: rows are read in
chunks and written as they come) with its licence, and cached by browsers and the proxy (Cache-Control, ETag)."""

import csv
import hashlib
import json

from django.conf import settings
from django.db.models import Max
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition

from debates.models import Comment, Debate
from meetings.models import Meeting
from opendata.selectors import DATASETS


def index(request):
    return render(request, "opendata/index.html", {
        "datasets": [(name, title, description) for name, (title, description, _rows) in DATASETS.items()],
        "licence": settings.OPENDATA_LICENCE, "licence_url": settings.OPENDATA_LICENCE_URL})


def _etag(request, name, fmt):
    """Changes when any row could have: the newest edit of each table and their sizes (three indexed aggregates)."""
    parts = [name, fmt, settings.OPENDATA_LICENCE, request.LANGUAGE_CODE]
    for model, field in ((Debate, "updated_at"), (Comment, "created_at"), (Meeting, "report_published_at")):
        parts.append(str(model.objects.aggregate(n=Max("pk"), at=Max(field))))
    parts.append(str(Comment.objects.filter(hidden_at__isnull=False).count()))
    parts.append(str(Comment.objects.aggregate(at=Max("edited_at"), d=Max("deleted_at"), h=Max("hidden_at"))))
    return hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()


class _Echo:
    def write(self, value):
        return value


def _csv(rows):
    writer = csv.writer(_Echo())
    header = None
    for row in rows:
        flat = {key: json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
                for key, value in row.items()}
        if header is None:
            header = list(flat)
            yield writer.writerow(header)
        yield writer.writerow([flat[key] for key in header])


def _json(name, rows):
    head = {"dataset": name, "licence": settings.OPENDATA_LICENCE, "licence_url": settings.OPENDATA_LICENCE_URL}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "items": ['
    for n, row in enumerate(rows):
        yield ("," if n else "") + "\n" + json.dumps(row, ensure_ascii=False)
    yield "\n]}\n"


@cache_control(public=True, max_age=settings.OPENDATA_CACHE_SECONDS)
@condition(etag_func=_etag)
def dataset(request, name, fmt):
    if name not in DATASETS or fmt not in ("csv", "json"):
        raise Http404
    rows = DATASETS[name][2]()
    if fmt == "csv":
        response = StreamingHttpResponse(_csv(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json(name, rows), content_type="application/json")
    response["Content-Disposition"] = f'inline; filename="agora-{name}.{fmt}"'
    response["Link"] = f'<{settings.OPENDATA_LICENCE_URL}>; rel="license"'
    return response
