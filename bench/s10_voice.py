"""S10 the room's voice (#20): phones answering an open-text question (a word cloud) in 10 s, then tapping reactions
at 2 per second each, through the real pages and endpoints with the rate limits on.

- a meeting with its live session open (pre-moderation off) and an open-text question open (seed_voice);
- `s10_phones` phones join as guests (the QR code's join page, code + nickname) and each answers once, on a fixed
  open-loop schedule over `s10_answer_seconds`, through `POST /meetings/<pk>/live/polls/<poll>/answer/` as htmx does.
  Each answer carries the phone's own marker word, so the screen frame that first shows it gives "submit -> shown".
  The server runs with MEETINGS_WORDCLOUD_MAX_WORDS above the number of phones, so every marker stays in the cloud
  (the worst case for the screen's rendering: the default shows 50 words);
- then each phone taps a reaction `s10_taps_per_s` times a second for `s10_tap_seconds` (`POST .../live/react/`);
  the projector's socket counts the `reactions.changed` frames it gets per second and reads the totals of the last
  one: their sum must equal the taps the server accepted (204), i.e. zero loss.

Figures: screen p50/p95/max from submit to shown, answers accepted and stored (zero loss), screen frames per second
during the taps (target: at most 1000 / MEETINGS_REACTION_FRAME_MS = 4), server CPU per answer and per reaction.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from bench import report, scenarios, stack
from bench.client import ListenerPool, Stats, marker, percentile, summarize
from bench.s9_meeting import Phone, cursor_of
from bench.writers import run_schedule

TOTAL_RE = re.compile(rb'data-kind=\\"([a-z]+)\\" data-count=\\"(\d+)\\"')
REACTIONS = ("clap", "heart", "laugh", "think", "thumbs")


def seed_voice(args: dict) -> dict:
    from datetime import timedelta

    from django.test.utils import override_settings
    from django.urls import reverse
    from django.utils import timezone

    from bench.seed import user
    from meetings import services

    facilitator = user("benchs10facilitator", role="facilitator")
    now = timezone.now()
    with override_settings(RATE_LIMITS_ENABLED=False):
        meeting = services.create_meeting(
            actor=facilitator, title=f"Benchmark voice {time.strftime('%H:%M:%S')}", kind="in_person",
            place="Agora", starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=3),
            allow_anonymous=True, premoderation=False, agenda=[("Présentation", 30)])
        meeting = services.open_session(actor=facilitator, meeting=meeting)
        meeting = services.set_current_item(actor=facilitator, meeting=meeting, item=meeting.agenda_items.first())
        poll = services.create_poll(actor=facilitator, meeting=meeting, question="En un mot ?", kind="words")
        services.open_poll(actor=facilitator, poll=poll)
    # S9 joined its guests from this same loopback address a minute ago, and the venue-wide `join_ip` quota
    # (300 per 5 min: a whole room on one wifi) counts them: this is another room, so its count starts at zero.
    from live import ratelimit

    for who in ("ip:127.0.0.1", "code:127.0.0.1"):
        ratelimit.reset("join_ip", who)
    pk = meeting.pk
    return {"meeting": pk, "poll": poll.pk, "code": meeting.join_code, "stream": meeting.stream_key,
            "screen_stream": meeting.screen_stream_key, "live": reverse("meetings:live", args=[pk]),
            "live_join": reverse("meetings:live_join", args=[pk]), "join": reverse("meetings:join"),
            "answer": reverse("meetings:answer", args=[pk, poll.pk]), "react": reverse("meetings:react", args=[pk]),
            "screen": reverse("meetings:screen", args=[pk, meeting.screen_token])}


def count_stored(args: dict) -> dict:
    from meetings.models import ReactionCount, WordEntry

    return {"entries": WordEntry.objects.filter(poll=args["poll"]).count(),
            "reactions": sum(ReactionCount.objects.filter(meeting=args["meeting"]).values_list("count", flat=True))}


class Answers:
    def __init__(self, phones: list[Phone], path: str):
        self.phones, self.path = phones, path
        self.failures: list[str] = []

    async def post(self, i: int) -> bool:
        phone = self.phones[i % len(self.phones)]
        try:
            response = await phone.client.post(self.path, data={
                "word": [marker(i), "équité"], "csrfmiddlewaretoken": phone.token},
                headers={"HX-Request": "true", "X-CSRFToken": phone.token})
        except httpx.HTTPError as exc:
            self.failures.append(f"answer {i}: {exc!r}")
            return False
        if response.status_code != 200 or "flash-success" not in response.text:
            self.failures.append(f"answer {i}: HTTP {response.status_code} {response.text[:200]!r}")
            return False
        return True


async def tap_loop(phone: Phone, path: str, rate: float, seconds: float, counts: dict) -> None:
    interval, t0 = 1 / rate, time.monotonic()
    k = 0
    while time.monotonic() - t0 < seconds:
        due = t0 + k * interval
        if due > time.monotonic():
            await asyncio.sleep(due - time.monotonic())
        try:
            response = await phone.client.post(path, data={"kind": REACTIONS[k % len(REACTIONS)],
                                                           "csrfmiddlewaretoken": phone.token},
                                               headers={"HX-Request": "true", "X-CSRFToken": phone.token})
            counts[response.status_code] = counts.get(response.status_code, 0) + 1
        except httpx.HTTPError:
            counts["error"] = counts.get("error", 0) + 1
        k += 1


async def run(ctx, cfg) -> dict:
    phone_count = int(cfg.get("s10_phones", 300))
    answer_seconds = float(cfg.get("s10_answer_seconds", 10))
    taps_per_s = float(cfg.get("s10_taps_per_s", 2))
    tap_seconds = float(cfg.get("s10_tap_seconds", 10))
    env = ctx.env
    ctx.env = {**env, "MEETINGS_WORDCLOUD_MAX_WORDS": str(phone_count + 10)}
    try:
        target = scenarios.AppTarget(ctx).start()
    finally:
        ctx.env = env
    server = target.servers[0]
    info = ctx.seed("s10_voice.seed_voice", {})
    base, ws_url = server.url, f"ws://127.0.0.1:{server.port}/ws/"
    phones = [Phone(base, info, nickname=f"Voix {k}") for k in range(phone_count)]
    frames: list[float] = []
    totals: dict[str, int] = {}

    def on_frame(listener, data: bytes, t: int) -> None:
        if b"reaction-burst-" in data:
            frames.append(time.monotonic())
            for kind, n in TOTAL_RE.findall(data):
                totals[kind.decode()] = int(n)

    screen = None
    try:
        sem = asyncio.Semaphore(10)

        async def joined(phone):
            async with sem:
                await phone.join()

        await asyncio.gather(*(joined(p) for p in phones))
        async with httpx.AsyncClient(base_url=base) as projector:
            page = await projector.get(info["screen"])
            page.raise_for_status()
            epoch, seq = cursor_of(page, info["screen_stream"])
            cookie = f"sessionid={projector.cookies.get('sessionid')}"
        stats = Stats(capacity=phone_count + 10)
        screen = ListenerPool(url=ws_url, origin=base, cookie=cookie, stream=info["screen_stream"], epoch=epoch,
                              start_seq=seq, stats=stats, on_frame=on_frame)
        await screen.connect(1)
        stack.log(f"  S10: {phone_count} phones joined, the screen follows {info['screen_stream']}")

        # Phase 1: every phone answers once, over answer_seconds.
        writer = Answers(phones, info["answer"])
        cpu0, t0 = server.cpu_seconds(), time.monotonic()
        schedule = await run_schedule(writer, [screen], stats, rate=phone_count / answer_seconds, count=phone_count)
        deadline = time.monotonic() + 30
        while screen.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        answer_cpu = server.cpu_seconds() - cpu0
        answer_elapsed = time.monotonic() - t0
        lat = list(stats.latencies)
        shown = sum(1 for i in range(phone_count) if screen.listeners[0].got[i])

        # Phase 2: reactions.
        await asyncio.sleep(1.0)
        counts: dict = {}
        frames.clear()
        cpu0, t0 = server.cpu_seconds(), time.monotonic()
        await asyncio.gather(*(tap_loop(p, info["react"], taps_per_s, tap_seconds, counts) for p in phones))
        tapping = time.monotonic() - t0
        await asyncio.sleep(2.0)  # the last frame (250 ms) and its push
        tap_cpu = server.cpu_seconds() - cpu0
        during = [t for t in frames if t - t0 <= tapping]
        stored = ctx.seed("s10_voice.count_stored", {"poll": info["poll"], "meeting": info["meeting"]})
    finally:
        if screen is not None:
            await screen.close()
        for phone in phones:
            await phone.close()
        target.stop()

    accepted_taps = counts.get(204, 0)
    figures = {
        "answers_accepted": schedule["accepted"], "answers_stored": stored["entries"] // 2,
        "answers_shown_on_screen": shown, **{f"screen_{k}": v for k, v in summarize(lat).items()},
        "server_cpu_ms_per_answer": round(answer_cpu * 1000 / max(1, schedule["accepted"]), 2),
        "taps_sent": sum(v for v in counts.values()), "taps_accepted": accepted_taps,
        "taps_refused_429": counts.get(429, 0), "taps_errors": counts.get("error", 0),
        "reactions_stored": stored["reactions"], "reactions_on_screen_total": sum(totals.values()),
        "screen_frames_per_s": round(len(during) / tapping, 2) if tapping else None,
        "server_cpu_ms_per_reaction": round(tap_cpu * 1000 / max(1, accepted_taps), 3),
    }
    met = (figures["answers_stored"] == figures["answers_accepted"] == phone_count and shown == phone_count
           and figures["reactions_stored"] == accepted_taps == figures["reactions_on_screen_total"]
           and (figures["screen_frames_per_s"] or 0) <= 1000 / 250 + 0.5)
    stack.log(f"  S10: {figures}")
    return report.scenario(
        "S10", {"phones": phone_count, "answer_seconds": answer_seconds, "taps_per_s": taps_per_s,
                "tap_seconds": tap_seconds, "screen_sockets": 1},
        figures, target="every accepted answer stored and shown; reactions loss-free; <= 4 screen frames/s",
        met=met, details={"schedule": schedule, "answer_failures": writer.failures[:5],
                          "answer_elapsed_s": round(answer_elapsed, 2), "tap_status": {str(k): v for k, v in
                                                                                       counts.items()},
                          "p95_ms": percentile(lat, 95)})
