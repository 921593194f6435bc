"""S9 meeting burst: 300 phones in an Agora meeting's live session, 50 contributions posted over HTTP in 2 s.

Everything goes through the real pages and endpoints, with the rate limits on:

- a meeting created and its live session opened through `meetings.services` (seed_meeting, in a subprocess);
- the writing phones join as people in the room do: half signed in (the live page's "Join as ..." button,
  `POST /meetings/<pk>/live/join/`), half anonymous guests (the QR code's `/meetings/join/?code=...`, code and
  nickname, per-IP limit `join_ip` on), then post through `POST /meetings/<pk>/live/contribute/` as htmx does
  (session cookie, CSRF token from the live page's form, `HX-Request`), 50 distinct phones on a fixed open-loop
  schedule over 2 s (post i due at t0 + i * 2 s / 50, its latency counted from then);
- 300 phone sockets follow `meeting.<pk>` from the cursor the live page carries; the projector follows
  `meeting.<pk>.screen` from the screen page's cursor, authorized by the session that loaded the secret screen URL;
  a facilitator's console follows `meeting.<pk>.console`.

The screen re-renders its whole feed region (the latest SCREEN_ITEMS) on every contribution, so a marker shows up in
several screen frames: its latency is that of the FIRST screen frame containing it (client.Listener records only the
first receipt per post; later ones count as duplicates). "All 50 on the screen" = every accepted post appeared in at
least one screen frame.

Phase "open" (pre-moderation off, the target): `bursts` bursts, the worst screen p95 is the reported one. Phase
"premod": the facilitator turns pre-moderation on through the console's settings endpoint, a second set of 50
phones posts, and the facilitator approves each contribution as soon as it shows in the console's queue (through
`POST /meetings/<pk>/console/contributions/<cid>/`, action=approve): post -> screen then includes the console push
and the approval POST (an instant, automated facilitator; a human adds seconds).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time

import httpx

from bench import report, scenarios, stack
from bench.client import MARK_RE, ListenerPool, Stats, marker, now_ns, percentile, summarize
from bench.writers import CSRF_INPUT_RE, run_schedule

QUEUE_RE = re.compile(rb"queue-(\d+)")
SELECTED_ITEM_RE = re.compile(r'<option value="(\d+)" selected>')
PHASES = ("open", "premod")
WARMUP = 5


# --- seeding (runs in a subprocess with Django set up: python -m bench.seed s9_meeting.seed_meeting '{...}') ---------

def seed_meeting(args: dict) -> dict:
    """A meeting with an agenda, its live session open (pre-moderation off, guests allowed), a facilitator's session
    and, per phase, the sessions of the signed-in phones that will join it."""
    from datetime import timedelta

    from django.test.utils import override_settings
    from django.urls import reverse
    from django.utils import timezone

    from bench.seed import session_for, user
    from meetings import services

    facilitator = user("benchs9facilitator", role="facilitator")
    now = timezone.now()
    with override_settings(RATE_LIMITS_ENABLED=False):  # the seeding only; the run has every limit on
        meeting = services.create_meeting(
            actor=facilitator, title=f"Benchmark meeting {time.strftime('%H:%M:%S')}", kind="in_person",
            place="Agora, 20 rue de Stalingrad", starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=3),
            description="Questions from the room, projected live (benchmark S9).", allow_anonymous=True,
            premoderation=False, agenda=[("Questions de la salle", 60), ("Propositions", 30)])
        meeting = services.open_session(actor=facilitator, meeting=meeting)
        meeting = services.set_current_item(actor=facilitator, meeting=meeting, item=meeting.agenda_items.first())
    signed_in = int(args.get("signed_in", 25))
    pk = meeting.pk
    return {
        "meeting": pk, "code": meeting.join_code, "stream": meeting.stream_key,
        "screen_stream": meeting.screen_stream_key, "console_stream": meeting.console_stream_key,
        "live": reverse("meetings:live", args=[pk]), "live_join": reverse("meetings:live_join", args=[pk]),
        "join": reverse("meetings:join"), "contribute": reverse("meetings:contribute", args=[pk]),
        "screen": reverse("meetings:screen", args=[pk, meeting.screen_token]),
        "console": reverse("meetings:console", args=[pk]),
        "settings": reverse("meetings:session_settings", args=[pk]),
        "moderate": reverse("meetings:moderate", args=[pk, 999999999]).replace("999999999", "{cid}"),
        "facilitator_session": session_for(facilitator),
        "signed_in": {phase: [session_for(user(f"benchs9{phase}{k}")) for k in range(signed_in)]
                      for phase in PHASES},
    }


# --- the people in the room --------------------------------------------------------------------------------------------

def csrf_token(page: httpx.Response) -> str:
    match = CSRF_INPUT_RE.search(page.text)
    if not match:
        raise RuntimeError(f"no CSRF token in {page.request.url}")
    return match.group(1)


def cursor_of(page: httpx.Response, stream: str) -> tuple[str, int]:
    """The cursor a page carries for `stream` (data-live-stream / data-live-cursor), as the browser reads it."""
    for key, value in scenarios.CURSOR_RE.findall(page.text):
        if key == stream:
            epoch, _, seq = value.partition(":")
            return epoch, int(seq or 0)
    raise RuntimeError(f"no cursor for {stream} on {page.request.url}")


def contribution_text(i: int) -> str:
    return f"Question {marker(i)} : pourra-t-on garder des bancs et de l'ombre sur la place pendant les travaux ?"


class Phone:
    """One phone in the room, with its own cookies (httpx keeps the session the join sets)."""

    def __init__(self, base_url: str, info: dict, *, session: str | None = None, nickname: str | None = None):
        self.info, self.session, self.nickname = info, session, nickname
        self.client = httpx.AsyncClient(base_url=base_url, cookies={"sessionid": session} if session else {},
                                        timeout=30)
        self.token = ""
        self.agenda_item = ""

    async def join(self) -> None:
        info, client = self.info, self.client
        if self.session:  # signed in: the live page's "Join as <nickname>" button
            page = await client.get(info["live"])
            page.raise_for_status()
            answer = await client.post(info["live_join"], data={"csrfmiddlewaretoken": csrf_token(page)})
        else:  # the QR code: the join page with the code filled in, then code + nickname
            page = await client.get(info["join"], params={"code": info["code"]})
            page.raise_for_status()
            answer = await client.post(info["join"], data={"code": info["code"], "nickname": self.nickname,
                                                           "csrfmiddlewaretoken": csrf_token(page)})
        if answer.status_code != 302:
            raise RuntimeError(f"join refused ({'signed in' if self.session else 'guest'}): HTTP "
                               f"{answer.status_code} {answer.text[:300]!r}")
        page = await client.get(info["live"])
        page.raise_for_status()
        if 'id="contribution-form"' not in page.text:
            raise RuntimeError("joined, but the live page shows no contribution form")
        self.token = csrf_token(page)
        item = SELECTED_ITEM_RE.search(page.text)  # the form's "About" select: the current agenda item
        self.agenda_item = item.group(1) if item else ""

    async def close(self):
        await self.client.aclose()


class BurstWriter:
    """Post i goes from phone (i - base) % len(phones): each phone posts once per burst (rate limit
    `contribution` 5/30 per participant)."""

    def __init__(self, phones: list[Phone], path: str):
        self.phones, self.path = phones, path
        self.base = 0
        self.failures: list[str] = []
        self.post_ms: list[float] = []

    async def post(self, i: int) -> bool:
        phone = self.phones[(i - self.base) % len(self.phones)]
        t = time.perf_counter()
        try:
            response = await phone.client.post(self.path, data={
                "body": contribution_text(i), "kind": "question" if i % 3 else "idea",
                "agenda_item": phone.agenda_item, "client_id": secrets.token_urlsafe(12),
                "csrfmiddlewaretoken": phone.token},
                headers={"HX-Request": "true", "X-CSRFToken": phone.token})
        except httpx.HTTPError as exc:
            self.failures.append(f"post {i}: {exc!r}")
            return False
        self.post_ms.append((time.perf_counter() - t) * 1000)
        # htmx gets what changed in the form when saved (meetings/parts.html#contribution-sent: the box emptied, the
        # words in its status line), a 4xx with the reason in the error slot otherwise.
        if response.status_code != 200 or 'innerHTML:#contribution-form-message' not in response.text:
            self.failures.append(f"post {i}: HTTP {response.status_code} {response.text[:300]!r}")
            return False
        return True


class Facilitator:
    """The console: follows meeting.<pk>.console and, when `approving`, approves each pending contribution the
    moment it appears in the queue, through the console's real endpoint."""

    def __init__(self, base_url: str, info: dict):
        self.info = info
        self.client = httpx.AsyncClient(base_url=base_url, cookies={"sessionid": info["facilitator_session"]},
                                        timeout=30)
        self.approving = False
        self.seen: set[int] = set()
        self.tasks: set[asyncio.Task] = set()
        self.approve_ms: dict[int, float] = {}  # post index -> due time -> approval answered (ms)
        self.failures: list[str] = []
        self.sent = None  # the run's per-post due times (Stats.sent)

    async def setup(self) -> tuple[str, int]:
        page = await self.client.get(self.info["console"])
        page.raise_for_status()
        self.token = csrf_token(page)
        return cursor_of(page, self.info["console_stream"])

    async def settings(self, *, premoderation: bool) -> None:
        data = {"allow_anonymous": "1", "slow_mode_seconds": "0", "csrfmiddlewaretoken": self.token}
        if premoderation:
            data["premoderation"] = "1"
        answer = await self.client.post(self.info["settings"], data=data,
                                        headers={"HX-Request": "true", "X-CSRFToken": self.token})
        if answer.status_code != 204:
            raise RuntimeError(f"session settings refused: HTTP {answer.status_code} {answer.text[:300]!r}")

    def on_frame(self, listener, data: bytes, t: int) -> None:
        if not self.approving or b"beforeend:#queue" not in data:
            return
        queued, mark = QUEUE_RE.search(data), MARK_RE.search(data)
        if queued is None or mark is None:
            return
        cid = int(queued.group(1))
        if cid in self.seen:
            return
        self.seen.add(cid)
        task = asyncio.get_running_loop().create_task(self.approve(cid, int(mark.group(1))))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def approve(self, cid: int, index: int) -> None:
        try:
            answer = await self.client.post(self.info["moderate"].format(cid=cid),
                                            data={"action": "approve", "csrfmiddlewaretoken": self.token},
                                            headers={"HX-Request": "true", "X-CSRFToken": self.token})
        except httpx.HTTPError as exc:
            self.failures.append(f"approve {cid}: {exc!r}")
            return
        if answer.status_code != 204:
            self.failures.append(f"approve {cid}: HTTP {answer.status_code} {answer.text[:200]!r}")
            return
        if self.sent is not None and self.sent[index]:
            self.approve_ms[index] = round((now_ns() - self.sent[index]) / 1e6, 2)

    async def close(self):
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


# --- measuring -----------------------------------------------------------------------------------------------------

async def settle(pools: list[ListenerPool], idle: float = 4.0, cap: float = 60.0) -> None:
    """Until every expected receipt arrived, or nothing arrived for `idle` s (longer than the hub's sweep)."""
    start = time.monotonic()

    def count():
        return sum(pool.stats.deliveries for pool in pools)

    last, changed = count(), time.monotonic()
    while any(pool.pending for pool in pools) and time.monotonic() - start < cap:
        await asyncio.sleep(0.05)
        if count() != last:
            last, changed = count(), time.monotonic()
        elif time.monotonic() - changed > idle:
            break


class AudiencePool(ListenerPool):
    """Listeners of one audience that also keep each receipt's latency by post: a receipt that arrives after its
    burst's wait still counts for its own post (and the final figures are computed once everything settled)."""

    def __post_init__(self):
        super().__post_init__()
        self.by_post: dict[int, list[float]] = {}

    def on_delivery(self, index: int, t: int):
        self.by_post.setdefault(index, []).append((t - self.stats.sent[index]) / 1e6)
        super().on_delivery(index, t)


def audience(pool: AudiencePool, indices: range) -> dict:
    lat = [ms for i in indices for ms in pool.by_post.get(i, ())]
    expected, missing = scenarios.loss_of([pool], pool.stats, indices)
    sockets = len(pool.listeners)
    complete = [max(pool.by_post[i]) for i in indices if len(pool.by_post.get(i, ())) >= sockets]
    accepted = [i for i in indices if pool.stats.ok[i]]
    seen_by_all = sum(1 for i in accepted if all(lst.got[i] for lst in pool.listeners))
    return {"sockets": len(pool.connected()), **summarize(lat), "expected": expected, "loss": missing,
            "posts_seen_by_all": seen_by_all, "all_n_p50_ms": percentile(complete, 50),
            "all_n_max_ms": round(max(complete), 2) if complete else None,
            "order_errors": pool.order_errors(), "errors": pool.errors()[:3]}


async def burst(*, writer: BurstWriter, phones: ListenerPool, screen: ListenerPool, facilitator: Facilitator,
                server: stack.Server, index: int, posts: int, seconds: float) -> dict:
    writer.base = index
    dup0 = screen.stats.duplicates
    failures0 = len(writer.failures)
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    schedule = await run_schedule(writer, [phones, screen], phones.stats, rate=posts / seconds, count=posts,
                                  start_index=index)
    await settle([phones, screen])
    elapsed = time.monotonic() - t0
    indices = range(index, index + posts)
    result = {
        "posts": posts, "accepted": schedule["accepted"], "schedule_max_lag_ms": schedule["schedule_max_lag_ms"],
        "indices": indices, "screen": audience(screen, indices), "phones": audience(phones, indices),
        "screen_frames_repeating_a_marker": screen.stats.duplicates - dup0,
        "post_p50_ms": percentile(writer.post_ms[-posts:], 50), "post_p95_ms": percentile(writer.post_ms[-posts:], 95),
        "post_max_ms": round(max(writer.post_ms[-posts:]), 1) if writer.post_ms else None,
        "write_failures": writer.failures[failures0:][:5],
        "server_cpu_pct": round((server.cpu_seconds() - cpu0) / elapsed * 100, 1), "elapsed_s": round(elapsed, 2),
        # CPU of the server per contribution over the burst and its settling (POST, renders, fan-out, sweeps).
        "server_cpu_ms_per_post": round((server.cpu_seconds() - cpu0) * 1000 / posts, 1),
        "server_rss_mb": round(server.rss_kb() / 1024, 1),
    }
    if facilitator.approving:
        approvals = [facilitator.approve_ms[i] for i in indices if i in facilitator.approve_ms]
        result["approvals"] = len(approvals)
        result["approve_p50_ms"], result["approve_p95_ms"] = percentile(approvals, 50), percentile(approvals, 95)
        result["approve_failures"] = facilitator.failures[-3:]
    for pool in (phones, screen):
        for i in indices:
            pool.pending.pop(i, None)
    return result


def worst(bursts: list[dict], who: str) -> dict:
    return max(bursts, key=lambda b: b[who]["p95_ms"] if b[who]["p95_ms"] is not None else 1e12)[who]


def phase_summary(bursts: list[dict], posts: int) -> dict:
    screen, phones = worst(bursts, "screen"), worst(bursts, "phones")
    return {"bursts": len(bursts), "accepted": [b["accepted"] for b in bursts],
            "screen_worst": {k: screen[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
            "phones_worst": {k: phones[k] for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "all_n_max_ms")},
            "screen_p95_per_burst": [b["screen"]["p95_ms"] for b in bursts],
            "phones_p95_per_burst": [b["phones"]["p95_ms"] for b in bursts],
            "on_screen_per_burst": [b["screen"]["posts_seen_by_all"] for b in bursts],
            # Posts never shown by any screen frame (every screen frame arrived: see order_errors; the missing ones
            # were displaced from the latest-SCREEN_ITEMS feed before their own event was rendered).
            "screen_not_shown": sum(b["screen"]["loss"] for b in bursts),
            "screen_order_errors": max(b["screen"]["order_errors"] for b in bursts),
            "phones_loss": sum(b["phones"]["loss"] for b in bursts),
            "all_on_screen": all(b["accepted"] == posts and b["screen"]["posts_seen_by_all"] == posts
                                 for b in bursts),
            "server_cpu_pct": [b["server_cpu_pct"] for b in bursts],
            "server_cpu_ms_per_post": [b["server_cpu_ms_per_post"] for b in bursts],
            "post_p95_ms": [b["post_p95_ms"] for b in bursts]}


async def run(ctx, cfg) -> dict:
    phone_count = int(cfg.get("s9_phones", 300))
    posts = int(cfg.get("s9_posts", 50))
    seconds = float(cfg.get("s9_seconds", 2))
    bursts_n = int(cfg.get("s9_bursts", 3))
    premod_bursts = int(cfg.get("s9_premod_bursts", 1))
    target = scenarios.AppTarget(ctx).start()
    server = target.servers[0]
    info = ctx.seed("s9_meeting.seed_meeting", {"signed_in": posts // 2})
    base, ws_url = server.url, f"ws://127.0.0.1:{server.port}/ws/"
    writers: dict[str, list[Phone]] = {}
    pools: list[ListenerPool] = []
    facilitator = Facilitator(base, info)
    spy = None
    try:
        # The writing phones join: half signed in, half guests with a nickname (10 at a time, as a room does).
        sem = asyncio.Semaphore(10)

        async def joined(phone):
            async with sem:
                await phone.join()
            return phone

        t_join = time.monotonic()
        for phase in PHASES:
            sessions = info["signed_in"][phase]
            people = [Phone(base, info, session=s) for s in sessions]
            people += [Phone(base, info, nickname=f"Invite {phase} {k}") for k in range(posts - len(sessions))]
            writers[phase] = list(await asyncio.gather(*(joined(p) for p in people)))
        join_s = time.monotonic() - t_join
        stack.log(f"  S9: {2 * posts} phones joined meeting {info['meeting']} in {join_s:.1f} s")

        # Sockets: the facilitator's console, the projector, the phones; each from the cursor its page carries.
        shared = Stats(capacity=posts * (bursts_n + premod_bursts) + WARMUP + 10)
        console_epoch, console_seq = await facilitator.setup()
        async with httpx.AsyncClient(base_url=base) as anonymous:
            live_epoch, live_seq = cursor_of(await anonymous.get(info["live"]), info["stream"])
        async with httpx.AsyncClient(base_url=base) as projector:
            screen_page = await projector.get(info["screen"])
            screen_page.raise_for_status()
            screen_epoch, screen_seq = cursor_of(screen_page, info["screen_stream"])
            screen_cookie = f"sessionid={projector.cookies.get('sessionid')}"

        def pool(stream, epoch, seq, cookie=None, **kw):
            stats = Stats(capacity=len(shared.sent))
            stats.sent, stats.ok = shared.sent, shared.ok  # one schedule, receipts counted per audience
            p = AudiencePool(url=ws_url, origin=base, cookie=cookie, stream=stream, epoch=epoch, start_seq=seq,
                             stats=stats, **kw)
            pools.append(p)
            return p

        console = pool(info["console_stream"], console_epoch, console_seq,
                       cookie=f"sessionid={info['facilitator_session']}", on_frame=facilitator.on_frame)
        await console.connect(1)
        screen = pool(info["screen_stream"], screen_epoch, screen_seq, cookie=screen_cookie)
        await screen.connect(1)
        phones = pool(info["stream"], live_epoch, live_seq)
        connect_s = await phones.connect(phone_count)
        facilitator.sent = shared.sent
        stack.log(f"  S9: {phone_count} phone sockets, 1 screen, 1 console connected in {connect_s:.1f} s")

        results: dict[str, list[dict]] = {"open": [], "premod": []}
        # Warm-up, not measured: a few contributions (from the phones of the second phase, who post only once
        # later) compile the pushed fragments' templates and fill the connection pool, as the first contributions
        # of a meeting do long before a burst.
        warm = BurstWriter(writers["premod"], info["contribute"])
        await run_schedule(warm, [], shared, rate=5, count=WARMUP, start_index=0)
        if warm.failures:
            raise RuntimeError(f"S9 warm-up contributions refused: {warm.failures[:2]}")
        await asyncio.sleep(1.0)
        index = WARMUP
        spy = scenarios.profile(target, "s9")
        for phase, count in (("open", bursts_n), ("premod", premod_bursts)):
            if count == 0:
                continue
            if phase == "premod":
                await facilitator.settings(premoderation=True)
                facilitator.approving = True
                await asyncio.sleep(1.5)
            writer = BurstWriter(writers[phase], info["contribute"])
            for k in range(count):
                await asyncio.sleep(2.0)  # the room calms down between bursts
                b = await burst(writer=writer, phones=phones, screen=screen, facilitator=facilitator, server=server,
                                index=index, posts=posts, seconds=seconds)
                index += posts
                results[phase].append(b)
                stack.log(f"  S9 {phase} burst {k + 1}: accepted {b['accepted']}/{posts}, on screen "
                          f"{b['screen']['posts_seen_by_all']}, screen p50 {b['screen']['p50_ms']} p95 "
                          f"{b['screen']['p95_ms']} max {b['screen']['max_ms']} ms; phones p50 "
                          f"{b['phones']['p50_ms']} p95 {b['phones']['p95_ms']} max {b['phones']['max_ms']} ms "
                          f"loss {b['phones']['loss']}; POST p95 {b['post_p95_ms']} ms; server CPU "
                          f"{b['server_cpu_pct']}% ({b['server_cpu_ms_per_post']} ms/post)" + (f"; approvals {b.get('approvals')}, approve p95 "
                                                       f"{b.get('approve_p95_ms')} ms" if phase == "premod" else "")
                          + (f"; failures {b['write_failures'][:2]}" if b["write_failures"] else ""))
        # Late receipts (after a burst's own wait) still count for their post: wait until nothing arrives for
        # 4 s, then compute every burst's figures; `loss_at_settle` is what was missing when its wait ended.
        last, quiet_since, t_end = -1, time.monotonic(), time.monotonic() + 30
        while time.monotonic() < t_end and time.monotonic() - quiet_since < 4:
            await asyncio.sleep(0.25)
            now = sum(p.stats.deliveries for p in (phones, screen))
            if now != last:
                last, quiet_since = now, time.monotonic()
        for phase_results in results.values():
            for b in phase_results:
                indices = b.pop("indices")
                for who, pool_ in (("screen", screen), ("phones", phones)):
                    at_settle = b[who]
                    b[who] = {**audience(pool_, indices), "loss_at_settle": at_settle["loss"],
                              "seen_by_all_at_settle": at_settle["posts_seen_by_all"]}
        if spy is not None:
            try:
                spy.wait(timeout=120)
            except Exception:  # noqa: BLE001 - the profile is a development aid
                spy.kill()
    finally:
        await facilitator.close()
        for p in pools:
            await p.close()
        for people in writers.values():
            for phone in people:
                await phone.close()
        target.stop()

    open_ = phase_summary(results["open"], posts) if results["open"] else None
    premod = phase_summary(results["premod"], posts) if results["premod"] else None
    screen_w, phones_w = open_["screen_worst"], open_["phones_worst"]
    met = open_["all_on_screen"] and (screen_w["p95_ms"] or 1e9) <= 300 and open_["phones_loss"] == 0
    figures = {**screen_w, "loss": open_["phones_loss"], "screen_not_shown": open_["screen_not_shown"],
               "screen_order_errors": open_["screen_order_errors"],
               "server_rss_mb": max(b["server_rss_mb"] for b in results["open"]),
               "all_on_screen": open_["all_on_screen"],
               "phones_p50_ms": phones_w["p50_ms"], "phones_p95_ms": phones_w["p95_ms"],
               "phones_p99_ms": phones_w["p99_ms"], "phones_max_ms": phones_w["max_ms"],
               "phones_all_n_max_ms": phones_w["all_n_max_ms"],
               "server_cpu_pct": open_["server_cpu_pct"], "server_cpu_ms_per_post": open_["server_cpu_ms_per_post"],
               "post_p95_ms": open_["post_p95_ms"]}
    if premod:
        figures.update({"premod_screen_p50_ms": premod["screen_worst"]["p50_ms"],
                        "premod_screen_p95_ms": premod["screen_worst"]["p95_ms"],
                        "premod_all_on_screen": premod["all_on_screen"],
                        "premod_screen_not_shown": premod["screen_not_shown"], "premod_loss": premod["phones_loss"]})
    return report.scenario(
        "S9", {"phones": phone_count, "posts_per_burst": posts, "burst_seconds": seconds, "bursts": bursts_n,
               "premod_bursts": premod_bursts, "writers": "half signed in, half guests (join code + nickname)",
               "screen_sockets": 1, "console_sockets": 1},
        figures, target="all 50 on the shared screen, p95 <= 300 ms post -> screen (worst burst); no loss on phones", met=met,
        details={"open": {"summary": open_, "bursts": results["open"]},
                 "premod": {"summary": premod, "bursts": results["premod"]},
                 "join_s": round(join_s, 2), "connect_s": round(connect_s, 2),
                 "posts_with_agenda_item": sum(bool(p.agenda_item) for people in writers.values() for p in people),
                 "profile": str(spy.args[-3]) if spy is not None else None})
