"""Demo content for `manage.py seed_demo`: a live Agora meeting with an agenda, contributions and a poll, so `make run`
shows the phone, the console and the screen at once. Idempotent: a second run only prints the URLs again."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from meetings import services
from meetings.models import Meeting

TITLE = "Budget participatif : les projets de quartier"
PLACE = "Agora, 20 rue de Stalingrad, Nanterre"


def seed(stdout):
    User = get_user_model()
    fiona = User.objects.filter(nickname="fiona").first()
    if fiona is None:
        stdout.write("meetings: no facilitator 'fiona' yet; skipped.")
        return
    meeting = Meeting.objects.filter(title=TITLE).first()
    if meeting is None:
        meeting = _create(fiona, User)
    base = "http://127.0.0.1:8000"
    stdout.write(f"Agora meeting: {base}{meeting.get_absolute_url()}")
    if meeting.live_open:
        stdout.write(f"  join code {meeting.join_code}  phone: {base}{reverse('meetings:join')}?code={meeting.join_code}")
    stdout.write(f"  console (fiona): {base}{reverse('meetings:console', args=[meeting.pk])}")
    stdout.write(f"  screen: {base}{reverse('meetings:screen', args=[meeting.pk, meeting.screen_token])}")


def _create(fiona, User):
    now = timezone.now()
    meeting = services.create_meeting(
        actor=fiona, title=TITLE, kind="hybrid", place=PLACE, online_url="https://visio.example.org/agora",
        description="Présentation des projets proposés par les habitants, questions de la salle et vote indicatif.",
        starts_at=now - timedelta(minutes=20), ends_at=now + timedelta(hours=2), registration_enabled=True,
        capacity=120, premoderation=True,
        agenda=[("Accueil et règles du jeu", 10), ("Présentation des projets", 40), ("Questions de la salle", 40),
                ("Vote indicatif", 20)])
    meeting = services.open_session(actor=fiona, meeting=meeting)
    items = list(meeting.agenda_items.all())
    meeting = services.set_current_item(actor=fiona, meeting=meeting, item=items[1])
    people = [User.objects.filter(nickname=n).first() for n in ("alice", "bob", "carol")]
    participants = [services.join(meeting=meeting, user=u) for u in people if u is not None]
    participants.append(services.join(meeting=meeting, nickname="Samira", ip="127.0.0.1"))
    texts = [
        ("question", "Quel est le budget total pour notre quartier cette année ?", True),
        ("idea", "Des bancs et de l'ombre le long du boulevard, pour les personnes âgées.", True),
        ("question", "Les projets des écoles peuvent-ils être proposés par les élèves ?", True),
        ("idea", "Un atelier de réparation de vélos sur la place le samedi matin.", False),
    ]
    contributions = []
    for (kind, text, approve), participant in zip(texts, participants * 2, strict=False):
        c = services.post_contribution(participant=participant, body=text, kind=kind, agenda_item=items[1])
        if approve:
            c = services.approve_contribution(actor=fiona, contribution=c)
        contributions.append(c)
    services.pin_contribution(actor=fiona, contribution=contributions[0])
    poll = services.create_poll(actor=fiona, meeting=meeting, question="Quelle priorité pour le quartier ?",
                                choices=["Espaces verts", "Mobilités douces", "Équipements sportifs", "Culture"])
    services.open_poll(actor=fiona, poll=poll)
    choices = list(poll.choices.all())
    for i, participant in enumerate(participants):
        services.answer_poll(participant=participant, poll=poll, choices=[choices[i % 2]])
    if participants:
        services.raise_hand(participant=participants[-1])
    return Meeting.objects.get(pk=meeting.pk)
