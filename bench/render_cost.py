"""Dev helper: the server CPU of one write's publish and render, in process, without HTTP or sockets.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.render_cost [--n 200]

Creates a throwaway database (`test_<name>_render_cost`), then measures with `time.process_time()` (every thread
of this process):
- `post_comment` committed and published, as a French public reader follows the debate (the followed variant is
  marked, so the publish renders that one);
- `streams.message` of those comments for the followed variant only, and for every variant (what replays render);
- a meeting contribution's three events (phones, screen, console) rendered for every variant.
Prints milliseconds per write. Compare before/after on the same machine, one right after the other; other load on
the machine moves the figures.
"""

import argparse
import statistics
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    from bench import throwaway

    with throwaway.database("render_cost") as settings:
        run(args, settings)


def work_of(fn, items) -> tuple[float, float]:
    """(SQL queries, Python function calls) per item: deterministic, unlike CPU time on a shared machine."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profile = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        profile.enable()
        for item in items:
            fn(item)
        profile.disable()
    return len(queries) / len(items), pstats.Stats(profile).total_calls / len(items)


def per_write(fn, items, rounds) -> float:
    """The median over `rounds` of the CPU milliseconds per item."""
    runs = []
    for _ in range(rounds):
        start = time.process_time()
        for item in items:
            fn(item)
        runs.append((time.process_time() - start) * 1000 / len(items))
    return statistics.median(runs)


def run(args, settings):
    from datetime import timedelta

    from django.utils import timezone

    from debates import services as debates
    from live import streams, variants
    from live.models import Event
    from meetings import services as meetings
    from tests.helpers import make_user

    alice, fiona = make_user("alice"), make_user("fiona", role="facilitator")
    debate = debates.create_debate(author=fiona, title="La place du marché", description="Piétonne le samedi ?")
    key = debate.stream_key
    variants.mark([(key, "public:fr")])
    body = "Le tramway devrait s'arrêter devant le marché, et la place a besoin d'ombre en été. " * 3
    for i in range(20):  # warm up: templates compiled, connections open
        debates.post_comment(author=alice, debate=debate, body=f"{i} {body}")
    bodies = [f"{i} {body}" for i in range(args.n)]
    post = per_write(lambda text: debates.post_comment(author=alice, debate=debate, body=text), bodies, 1)
    events = list(Event.objects.filter(stream=key, kind="comment.posted").order_by("-seq")[: args.n])
    followed = per_write(lambda event: streams.message(Event.objects.get(pk=event.pk), {"public:fr"}), events,
                         args.rounds)
    every = per_write(lambda event: streams.message(Event.objects.get(pk=event.pk)), events, args.rounds)
    reading = per_write(lambda event: Event.objects.get(pk=event.pk), events, args.rounds)

    meeting = meetings.create_meeting(actor=fiona, title="Budget participatif", kind="in_person", place="Agora",
                                      starts_at=timezone.now() - timedelta(minutes=30),
                                      ends_at=timezone.now() + timedelta(hours=2), premoderation=False,
                                      agenda=[("Accueil", 10)])
    meeting = meetings.open_session(actor=fiona, meeting=meeting)
    phone = meetings.join(meeting=meeting, user=alice)
    for i in range(min(args.n, 60)):
        meetings.post_contribution(participant=phone, body=f"Idée {i}: des bancs à l'ombre")
    changes = {}
    for event in Event.objects.filter(stream__startswith=meeting.stream_key, kind="contribution.changed"):
        changes.setdefault(event.data["contribution"], []).append(event.pk)

    def render_change_together(pks):
        """The three events of one change as published: the same objects, reads shared when the core shares."""
        together = [Event.objects.get(pk=pk) for pk in pks]
        shared = {}
        for event in together:  # before the renderer contract, meetings shared them under this name
            setattr(event, "reads" if hasattr(Event, "reads") else "_meetings_cache", shared)
        for event in together:
            streams.message(event)

    contribution = per_write(render_change_together, list(changes.values()), args.rounds)
    work = {
        "comment, followed variant": work_of(lambda event: streams.message(Event.objects.get(pk=event.pk),
                                                                           {"public:fr"}), events),
        "comment, every variant": work_of(lambda event: streams.message(Event.objects.get(pk=event.pk)), events),
        "contribution, 3 audiences": work_of(render_change_together, list(changes.values())),
    }
    print(f"comment: post_comment + publish (1 followed variant)   {post:6.2f} ms CPU per comment")
    print(f"comment: render, the followed variant only         {followed - reading:6.2f} ms (+{reading:.2f} ms "
          f"to read the event row)")
    print(f"comment: render, every variant (replays)           {every - reading:6.2f} ms")
    print(f"contribution: 3 audiences x every language         {contribution - 3 * reading:6.2f} ms")
    for name, (queries, calls) in work.items():
        print(f"{name}: {queries:.1f} queries, {calls:,.0f} Python calls (event rows read included)")


if __name__ == "__main__":
    main()
