"""Open data: one page listing the datasets, each streamed as CSV or JSON (StreamingHttpResponse: rows are read in
chunks and written as they come) with its licence; cached by browsers and the proxy (Cache-Control, ETag) and on
the server (opendata.cache: the bytes of the first download, in parts, replayed until the data changes)."""

import csv
import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_POST

from live import actions
from opendata import cache, services
from opendata.selectors import DATASETS


def index(request):
    return render(request, "opendata/index.html", {
        "datasets": [(name, dataset.title, dataset.description) for name, dataset in DATASETS.items()],
        "licence": settings.OPENDATA_LICENCE, "licence_url": settings.OPENDATA_LICENCE_URL,
        "hides_name": request.user.is_authenticated and services.hides_name(request.user)})


@require_POST
@actions.action(slot="name-preference-status")
def name_preference(request):
    """"Leave my nickname out of the open data", from the open data page (and "My data")."""
    hide = request.POST.get("hide_name") == "on"
    services.set_hide_name(user=request.user, hide=hide)
    text = (_("Your nickname is left out of the open data.") if hide
            else _("Your nickname appears in the open data, as on the public pages."))
    if request.htmx:
        return actions.htmx_flash(request, text, slot="name-preference-status")
    messages.success(request, text)
    return redirect(actions.safe_next(request, request.POST.get("next")) or "opendata:index")


def _etag(request, name, fmt):
    """The dataset's state (opendata.selectors: whatever its rows depend on), hashed; also the server cache's key.
    A change that takes something out (a hide, a deletion, an administrator's removal, an unpublished report, an
    erasure, a name left out) is never served from before it; a new vote's score or a renamed nickname may be, for
    OPENDATA_CACHE_SECONDS at most."""
    if name not in DATASETS:
        return None  # the view answers 404
    parts = [name, fmt, settings.OPENDATA_LICENCE, request.LANGUAGE_CODE, str(DATASETS[name].state())]
    request.opendata_etag = hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()
    return request.opendata_etag


class _Echo:
    def write(self, value):
        return value


# A CSV cell a spreadsheet would read as a formula (OWASP "CSV injection": `=HYPERLINK(...)` typed in a comment, run
# on the computer of whoever opens the dataset in a spreadsheet) is written with a leading apostrophe, which
# spreadsheets take as "text" and do not show. The JSON has the text as written.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows):
    writer = csv.writer(_Echo())
    header = None
    for row in rows:
        flat = {key: _cell(value) for key, value in row.items()}
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


def _encode(chunks):
    for chunk in chunks:
        yield chunk.encode()


# Browsers and proxies keep a dataset but ask again each time (a 304 after a few small queries while nothing changed):
# a hide or an erasure is never shown from their copy, which max-age would keep for its whole lifetime.
@cache_control(public=True, no_cache=True)
@condition(etag_func=_etag)
def dataset(request, name, fmt):
    if name not in DATASETS or fmt not in ("csv", "json"):
        raise Http404

    def produce():
        rows = DATASETS[name].rows()
        return _encode(_csv(rows) if fmt == "csv" else _json(name, rows))

    # The key is the ETag the decorator just computed: the bytes cached for it are those of this very data.
    body, size = cache.stream(f"{name}.{fmt}:{request.opendata_etag}", produce)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    if size is not None:
        response["Content-Length"] = str(size)  # a replay cut short (a part evicted meanwhile) shows as such
    response["Content-Disposition"] = f'inline; filename="agora-{name}.{fmt}"'
    response["Link"] = f'<{settings.OPENDATA_LICENCE_URL}>; rel="license"'
    return response
