"""What a person's "download my data" archive holds: one function per kind, each reading only what this person made
or could already see (their conversations as they see them, others by their public name). Dates stay datetimes:
the archive writes them as ISO 8601 in the JSON files and shows them as dates in index.html, and only them (text
someone typed is text, whatever it looks like)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from debates.models import Comment, Debate, Vote
from decidim.models import PictureConsent
from live.messaging import services as messaging
from live.messaging.models import Block, Message, Participant
from live.messaging.models import Preference as MessagingPreference
from live.moderation.models import ActionLog, Report
from live.notifications.models import Category, Notification, Preferences, PushSubscription
from meetings.models import (
    Contribution,
    ContributionVote,
    PollAnswer,
    Registration,
    SpeakerRequest,
    WordEntry,
)
from meetings.models import Participant as MeetingParticipant
from opendata.models import NamePreference


def profile(user) -> dict:
    return {
        "nickname": user.nickname, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
        "bio": user.bio, "role": user.role, "date_joined": user.date_joined, "last_login": user.last_login,
        "blocked_at": user.blocked_at, "blocked_reason": user.blocked_reason,
        "roles_in_spaces": [{"role": a.role, "space": a.space, "granted_at": a.granted_at}
                            for a in user.role_assignments.all()],
        # The addresses allauth recorded (the one Decidim sent at sign-up), which the profile's may since differ from.
        "email_addresses": [{"email": a.email, "verified": a.verified}
                            for a in EmailAddress.objects.filter(user=user).order_by("pk")],
        "decidim_accounts": [{"provider": a.provider, "uid": a.uid, "date_joined": a.date_joined,
                              "as_decidim_sent_it": a.extra_data,
                              "picture_shown_since": getattr(PictureConsent.objects.filter(account=a).first(),
                                                             "given_at", None)}
                             for a in SocialAccount.objects.filter(user=user)],
        "sessions": sessions(user),
    }


def sessions(user) -> list[dict]:
    """The browsers signed in as them, until when (their keys stay out: each signs them in)."""
    from django.contrib.sessions.models import Session

    from live.accounts.selectors import session_keys_of

    return [{"expires_at": expires_at} for expires_at in Session.objects.filter(
        session_key__in=session_keys_of(user)).order_by("expire_date").values_list("expire_date", flat=True)]


def debates(user) -> list[dict]:
    return [{"id": d.pk, "title": d.title, "description": d.description, "created_at": d.created_at,
             "url": d.get_absolute_url()} for d in Debate.objects.filter(author=user).order_by("pk")]


def comments(user) -> list[dict]:
    return [{"id": c.pk, "debate": c.debate.title, "debate_id": c.debate_id, "parent_id": c.parent_id,
             "stance": c.get_alignment_display() if c.depth == 0 else None, "text": c.body,
             "created_at": c.created_at, "edited_at": c.edited_at, "deleted_at": c.deleted_at,
             "hidden_by_moderation_at": c.hidden_at, "score": c.score, "url": c.url}
            for c in Comment.objects.filter(author=user).select_related("debate").order_by("pk")]


def votes(user) -> list[dict]:
    return [{"comment_id": v.comment_id, "debate": v.comment.debate.title, "value": v.value,
             "created_at": v.created_at}
            for v in Vote.objects.filter(user=user).select_related("comment__debate").order_by("pk")] + [
        {"contribution_id": v.contribution_id, "meeting": v.contribution.meeting.title, "value": 1,
         "created_at": v.created_at}
        for v in ContributionVote.objects.filter(participant__user=user).select_related("contribution__meeting")]


def messages(user) -> list[dict]:
    """The conversations they take part in, each as they see it (what they wrote and what they received); of those
    they left, what they wrote only. Someone who left a conversation no longer sees it (live.messaging.models), but
    their own messages stay in it for the others: those are still their data."""
    out = []
    for participation in Participant.objects.filter(user=user).select_related("conversation").order_by("pk"):
        conversation = participation.conversation
        if participation.left_at is not None:
            out.append({
                "conversation_id": conversation.pk, "joined_at": participation.joined_at,
                "left_at": participation.left_at,
                "messages": [{"from": user.public_name, "mine": True, "kind": m.kind, "text": m.body,
                              "hidden_by_moderation": m.is_hidden, "sent_at": m.created_at}
                             for m in Message.objects.filter(conversation=conversation, author=user,
                                                             kind=Message.Kind.MESSAGE).order_by("pk")],
            })
            continue
        out.append({
            "conversation_id": conversation.pk, "joined_at": participation.joined_at,
            "with": [p.public_name for p in messaging.others(conversation, user, active=False)],
            "messages": [{"from": m.author.public_name, "mine": m.author_id == user.pk, "kind": m.kind,
                          "text": (m.adder_name if m.kind == Message.Kind.ADDED
                                   else "" if m.is_hidden and m.author_id != user.pk else m.body),
                          "hidden_by_moderation": m.is_hidden, "sent_at": m.created_at}
                         for m in messaging.visible_messages(user, conversation)],
        })
    return out


def meetings(user) -> dict:
    return {
        "participations": [{"meeting": p.meeting.title, "nickname": p.nickname, "joined_at": p.joined_at,
                            "ip": p.ip}
                           for p in MeetingParticipant.objects.filter(user=user).select_related("meeting")],
        "contributions": [{"meeting": c.meeting.title, "kind": c.kind, "text": c.body, "status": c.status,
                           "created_at": c.created_at, "votes": c.vote_count,
                           "hidden_by_moderation_at": c.hidden_at, "hidden_reason": c.hidden_reason}
                          for c in Contribution.objects.filter(participant__user=user).select_related("meeting")
                          .order_by("pk")],
        "poll_answers": [{"meeting": a.poll.meeting.title, "question": a.poll.question, "answer": a.choice.label,
                          "answered_at": a.created_at}
                         for a in PollAnswer.objects.filter(participant__user=user)
                         .select_related("poll__meeting", "choice").order_by("pk")],
        "raised_hands": [{"meeting": r.meeting.title, "status": r.get_status_display(), "raised_at": r.raised_at,
                          "floor_at": r.floor_at}
                         for r in SpeakerRequest.objects.filter(participant__user=user).select_related("meeting")
                         .order_by("pk")],
        "word_answers": [{"meeting": e.poll.meeting.title, "question": e.poll.question, "answer": e.text,
                          "status": e.status, "answered_at": e.created_at}
                         for e in WordEntry.objects.filter(participant__user=user)
                         .select_related("poll__meeting").order_by("pk")],
    }


def registrations(user) -> list[dict]:
    return [{"meeting": r.meeting.title, "starts_at": r.meeting.starts_at, "registered_at": r.created_at}
            for r in Registration.objects.filter(user=user).select_related("meeting").order_by("pk")]


# The decisions that close a report (live.moderation.services._resolve): the item hidden, shown again, the reports
# dismissed, the reported person blocked.
RESOLVING = [ActionLog.Action.HIDE, ActionLog.Action.UNHIDE, ActionLog.Action.DISMISS, ActionLog.Action.BLOCK]


def _outcome(report) -> ActionLog | None:
    """The decision that closed `report`: the first one logged on its item from its `resolved_at` on (a block of a
    reported person is logged on the person, without the case)."""
    if report.resolved_at is None:
        return None
    about = Q(case_id=report.case_id) | Q(case__isnull=True, kind=report.kind, object_id=report.object_id)
    return (ActionLog.objects.filter(about, action__in=RESOLVING, created_at__gte=report.resolved_at)
            .order_by("created_at", "pk").first())


def reports(user) -> list[dict]:
    """The reports they made, and what the moderators decided (never who decided)."""
    return [{"kind": r.kind, "object_id": r.object_id, "reason": r.get_reason_display(), "details": r.details,
             "created_at": r.created_at, "decided_at": r.resolved_at,
             "outcome": outcome.action if outcome else None,
             "outcome_label": outcome.get_action_display() if outcome else None}
            for r in Report.objects.filter(reporter=user).order_by("pk") for outcome in [_outcome(r)]]


def moderation(user) -> list[dict]:
    """The moderators' decisions about them: on their items (hidden, shown again, reports dismissed) and on them
    (warned, blocked, unblocked), with the reason and date each was told. Who decided and who reported stay out:
    the moderators' and the reporters' own data, which they never saw."""
    return [{"decision": entry.action, "decision_label": entry.get_action_display(),
             "kind": entry.case.kind if entry.case_id else entry.kind,
             "object_id": entry.case.object_id if entry.case_id else entry.object_id,
             "reason": entry.reason, "decided_at": entry.created_at}
            for entry in ActionLog.objects.filter(Q(target_user=user) | Q(case__author=user))
            .select_related("case").order_by("pk")]


def notifications(user) -> list[dict]:
    """`text_language`: the language each was written in (their choice then; "" before it was kept), which the
    index marks where it is not the archive's."""
    return [{"kind": n.kind, "text": n.text, "text_language": n.language, "url": n.url, "created_at": n.created_at,
             "read_at": n.read_at} for n in Notification.objects.filter(user=user).order_by("pk")]


def preferences(user) -> dict:
    """What they chose: how they hear about things, who may write to them, their name in the open data."""
    notifications = Preferences.objects.filter(user=user).first()
    messaging_preference = MessagingPreference.objects.filter(user=user).first()
    name = NamePreference.objects.filter(user=user).first()
    return {
        "notifications": None if notifications is None else {
            "language": notifications.language, "language_last_used": notifications.last_language,
            **{category: getattr(notifications, category)
               for category in Category.values},
            "email_rhythm": notifications.email_rhythm,
            "push_message_text": notifications.push_message_text,
            "digest_sent_at": notifications.digest_sent_at},
        "messages_accepted_from": messaging_preference.accept_from if messaging_preference else "everyone",
        "open_data_name_hidden": bool(name and name.hide_name),
    }


def devices(user) -> list[dict]:
    """The browsers that receive their push notifications (the address their push service gave; the encryption
    keys are the browser's own and are left out)."""
    return [{"push_service_address": s.endpoint, "subscribed_at": s.created_at}
            for s in PushSubscription.objects.filter(user=user).order_by("pk")]


def blocks(user) -> list[dict]:
    return [{"blocked": b.blocked.public_name, "since": b.created_at}
            for b in Block.objects.filter(blocker=user).select_related("blocked").order_by("pk")]


# (file name, title in the index, reader): one JSON file each.
KINDS = (
    ("profile", _("Profile"), profile),
    ("debates", _("Debates I opened"), debates),
    ("comments", _("Comments, with their debate and stance"), comments),
    ("votes", _("Votes on comments and contributions"), votes),
    ("messages", _("Private messages of my conversations"), messages),
    ("meetings", _("Meeting participations, contributions and poll answers"), meetings),
    ("registrations", _("Meeting registrations"), registrations),
    ("reports", _("Reports I made"), reports),
    ("moderation", _("Moderation decisions about me and my contributions"), moderation),
    ("notifications", _("Notifications"), notifications),
    ("preferences", _("My preferences: notifications, private messages, open data"), preferences),
    ("devices", _("Devices receiving my push notifications"), devices),
    ("blocks", _("People I blocked"), blocks),
)
