"""Dev helper: the server CPU of one write's publish and render, in process, without HTTP or sockets.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.render_cost [--n 200]

Creates a throwaway database (`test_<name>_render_cost`), then measures with `time.process_time()` (every thread
of this process):
- `post_comment` committed and published, as a French public reader follows the debate (the followed variant is
  marked, so the publish renders that one);
- `streams.message` of those comments for the followed variant only, and for every variant (what replays render);
- a meeting contribution's three events (phones, screen, console) rendered for every variant;
- `--pushes`: the pushes of a comment, a vote, a contribution and an approval as bench.write_cost's followers
  receive them (the variants its sockets follow, the objects the write hands over as `known`), captured as they
  are published and rendered again: Python calls and CPU per write's push, the render part of write_cost's figures.
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
    p.add_argument("--pushes", action="store_true", help="only the pushes of bench.write_cost's writes")
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


def capture(fn) -> list[tuple[list, dict | None]]:
    """The pushes `fn()` publishes: each write's events with what the writer handed over (`known`), unrendered."""
    from live import streams

    captured, original = [], streams.publish_together

    def record(events):
        known = events[0].reads
        captured.append((list(events), dict(known) if known is not None else None))

    streams.publish_together = record
    try:
        fn()
    finally:
        streams.publish_together = original
    return captured


def render_push(push, only) -> None:
    """Render one captured push again for the variants `only` ({stream suffix: variants}), as publish does."""
    from live import streams

    events, known = push
    reads = dict(known) if known is not None else None
    for event in events:
        event.reads = reads
        suffix = event.stream.split(".", 2)[2] if event.stream.count(".") > 1 else ""
        streams.message(event, only[suffix])


def run_pushes(args):
    """The pushes of bench.write_cost's writes, for the variants its followers follow."""
    from datetime import timedelta

    from django.utils import timezone

    from debates import services as debates
    from meetings import services as meetings
    from tests.helpers import make_user

    alice, bob, fiona = make_user("alice"), make_user("bob"), make_user("fiona", role="facilitator")
    debate = debates.create_debate(author=fiona, title="La place du marché", description="Piétonne le samedi ?")
    body = "Le tramway devrait s'arrêter devant le marché, et la place a besoin d'ombre en été. {i}" * 3
    n = args.n
    comment_pushes = capture(lambda: [debates.post_comment(author=alice, debate=debate, body=body.format(i=i))
                                      for i in range(n)])
    targets = [debates.post_comment(author=bob, debate=debate, body=body.format(i=f"v{i}")) for i in range(n)]
    vote_pushes = capture(lambda: [debates.vote(comment=c, user=alice, value=1) for c in targets])

    def meeting(title, premoderation):
        m = meetings.create_meeting(actor=fiona, title=title, kind="in_person", place="Agora",
                                    starts_at=timezone.now() - timedelta(minutes=30),
                                    ends_at=timezone.now() + timedelta(hours=2), premoderation=premoderation,
                                    agenda=[("Accueil", 10)])
        return meetings.open_session(actor=fiona, meeting=m)

    open_meeting, moderated = meeting("Budget participatif", False), meeting("Budget participatif (modéré)", True)
    phone = meetings.join(meeting=open_meeting, user=alice)
    contribution_pushes = capture(lambda: [meetings.post_contribution(
        participant=phone, body=body.format(i=i), kind="question") for i in range(n)])
    bob_phone = meetings.join(meeting=moderated, user=bob)
    pending = [meetings.post_contribution(participant=bob_phone, body=body.format(i=f"p{i}")) for i in range(n)]
    approval_pushes = capture(lambda: [meetings.approve_contribution(actor=fiona, contribution=c)
                                       for c in pending])
    debate_variants = {"": {"public:fr", "public:en"}}
    meeting_variants = {"": {"public:fr"}, "screen": {"screen:fr"}, "console": {"console:fr"}}
    cases = [("comment_ws", comment_pushes, debate_variants), ("vote_ws", vote_pushes, debate_variants),
             ("contribution_ws", contribution_pushes, meeting_variants), ("approval", approval_pushes, meeting_variants)]
    print(f"{'push of':16} {'py_calls':>9} {'sql':>5} {'cpu_ms':>7} {'bytes':>7}   (render only, {n} writes)")
    for name, pushes, only in cases:
        for push in pushes[:5]:  # warm: templates compiled
            render_push(push, only)
        queries, calls = work_of(lambda push, only=only: render_push(push, only), pushes)
        cpu = per_write(lambda push, only=only: render_push(push, only), pushes, args.rounds)
        size = 0
        for events, known in pushes[:1]:
            render_push((events, known), only)
        from live import streams
        for event in pushes[0][0]:
            suffix = event.stream.split(".", 2)[2] if event.stream.count(".") > 1 else ""
            event.reads = dict(pushes[0][1]) if pushes[0][1] is not None else None
            size += sum(len(f) for f in streams.message(event, only[suffix])["frames"].values())
        print(f"{name:16} {calls:9,.0f} {queries:5.1f} {cpu:7.2f} {size:7,}")


def run(args, settings):
    if args.pushes:
        run_pushes(args)
        return
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
