"""Dev helper: what erasing a very prolific account costs (RGPD article 17, docs/privacy.md), in process.

    DATABASE_URL=postgres://... REDIS_URL=redis://... python -m bench.erase_cost [--comments 5000] [--messages 2000]

Creates a throwaway database (`test_<name>_erase_cost`), gives one person `--comments` comments spread over `--debates`
debates, `--messages` private messages over `--conversations` conversations with bob, `--contributions` meeting
contributions, and a few mentions of them in others' comments; every stream is followed by a French reader (its
variant marked, so publishing renders it). Then erases the account and prints: the erasure's transaction (wall
and CPU time, SQL statements, events appended) and what happens after its commit (publishing and rendering every
event). Compare before/after on the same machine, one right after the other; other load moves the CPU figures,
statements and events do not move.
"""

import argparse
import time
from datetime import timedelta


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--comments", type=int, default=5000)
    p.add_argument("--debates", type=int, default=25)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--conversations", type=int, default=20)
    p.add_argument("--contributions", type=int, default=100)
    args = p.parse_args()
    from bench import throwaway

    with throwaway.database("erase_cost"):
        run(args)


def seed(args):
    from django.utils import timezone

    from debates import services as debates
    from debates.models import Comment
    from live.accounts.models import User
    from live.messaging import services as messaging
    from live.messaging.models import Message
    from meetings import services as meetings
    from meetings.models import Contribution

    password = "erase-cost-42"
    zoe = User.objects.create_user(username="zoe@example.org", email="zoe@example.org", password=password,
                                   nickname="zoe")
    bob = User.objects.create_user(username="bob@example.org", email="bob@example.org", password=password,
                                   nickname="bob")
    fiona = User.objects.create_user(username="fiona@example.org", email="fiona@example.org", password=password,
                                     nickname="fiona", role="facilitator")
    keys = []
    per_debate = max(1, args.comments // args.debates)
    for d in range(args.debates):
        debate = debates.create_debate(author=fiona, title=f"Débat {d}", description="Qu'en pensez-vous ?")
        Comment.objects.bulk_create(Comment(debate=debate, author=zoe, body=f"Avis {n}", body_html=f"<p>Avis {n}</p>")
                                    for n in range(per_debate))
        debates.post_comment(author=bob, debate=debate, body="Je rejoins @zoe.")
        keys.append((debate.stream_key, "public:fr"))
    per_conversation = max(1, args.messages // args.conversations)
    for _c in range(args.conversations):
        started = messaging.start_conversation(author=zoe, recipients=[bob], body="Bonjour")
        conversation = started.conversation
        Message.objects.bulk_create(Message(conversation=conversation, author=zoe, body=f"m{n}",
                                            body_html=f"<p>m{n}</p>") for n in range(per_conversation - 1))
        keys.append((conversation.stream_key, f"u{bob.pk}:fr"))
    meeting_count = max(1, args.contributions // 20)
    for m in range(meeting_count):
        now = timezone.now()
        meeting = meetings.create_meeting(actor=fiona, title=f"Réunion {m}", kind="in_person", place="Agora",
                                          starts_at=now, ends_at=now + timedelta(hours=2), premoderation=False)
        meeting = meetings.open_session(actor=fiona, meeting=meeting)
        participant = meetings.join(meeting=meeting, user=zoe, ip="203.0.113.7")
        Contribution.objects.bulk_create(Contribution(meeting=meeting, participant=participant, body=f"c{n}",
                                                      status=Contribution.Status.APPROVED)
                                         for n in range(args.contributions // meeting_count))
        keys += [(meeting.stream_key, "public:fr"), (f"{meeting.stream_key}.screen", "screen:fr")]
    return zoe, password, keys


def run(args):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from live import effects, variants
    from live.accounts import services as accounts
    from live.models import Event

    zoe, password, keys = seed(args)
    variants.mark(keys)
    before = Event.objects.count()
    callbacks = []
    original = effects.after_commit

    def capture(name, fn, **kwargs):  # run after the measured transaction, timed on their own
        callbacks.append(fn)

    effects.after_commit = capture
    try:
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.process_time()
            accounts.erase_account(user=zoe, password=password)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        effects.after_commit = original
    events = Event.objects.count() - before
    publish_wall, publish_cpu = time.perf_counter(), time.process_time()
    for fn in callbacks:
        fn()
    publish_wall, publish_cpu = time.perf_counter() - publish_wall, time.process_time() - publish_cpu
    print(f"account: {args.comments} comments in {args.debates} debates, {args.messages} messages in "
          f"{args.conversations} conversations, {args.contributions} contributions")
    print(f"erasure transaction: {wall * 1000:8.0f} ms wall, {cpu * 1000:8.0f} ms CPU, {len(queries):6d} SQL "
          f"statements, {events:6d} events")
    print(f"after commit:        {publish_wall * 1000:8.0f} ms wall, {publish_cpu * 1000:8.0f} ms CPU "
          f"({len(callbacks)} callbacks: publishing and rendering the events)")


if __name__ == "__main__":
    main()
