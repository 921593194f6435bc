"""Demo content for `make run` (called by `manage.py seed_demo` after it created alice, bob, carol, mona and fiona):
a debate of the city with a realistic thread, in French. Idempotent: does nothing when the debate exists."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from debates import services
from debates.models import Comment, Debate, Stance

TITLE = "Faut-il rendre la place du Marché piétonne le samedi ?"
DESCRIPTION = """La municipalité étudie la fermeture de la **place du Marché** à la circulation automobile tous les
samedis, de 7 h à 19 h, à partir du printemps.

Ce qui est proposé :
- des terrasses élargies et des bancs ;
- un parking relais gratuit au Champ-de-Foire, avec une navette toutes les 10 minutes ;
- un accès maintenu pour les livraisons avant 10 h et pour les personnes à mobilité réduite.

> Donnez votre avis, pour ou contre, et répondez-vous les uns aux autres : les conclusions seront présentées au
> conseil municipal de janvier.

Le dossier complet : [étude de circulation](https://www.example.org/etude-place-du-marche)."""
INSTRUCTIONS = ("Indiquez si vous êtes *pour*, *contre* ou *neutre*, et appuyez votre avis sur votre expérience. "
                "Restez courtois : les commentaires sont modérés.")

# (key, author, parent key, stance, minutes ago, text)
THREAD = [
    ("a", "alice", None, Stance.FOR, 180,
     "J'habite rue des Tanneurs : le samedi matin, la place est un **parking géant**. Des terrasses et des bancs, "
     "ce serait enfin une place pour les gens. Pour !"),
    ("b", "bob", "a", Stance.NEUTRAL, 170,
     "D'accord sur le principe, mais comment font les commerçants pour décharger ? 10 h, c'est tôt pour le "
     "marché."),
    ("c", "alice", "b", Stance.NEUTRAL, 160,
     "@bob l'étude prévoit des créneaux de livraison jusqu'à 10 h, et les forains ont déjà leurs places réservées "
     "derrière la halle."),
    ("d", "carol", None, Stance.AGAINST, 150,
     "Je viens de Saint-Martin avec ma mère qui marche difficilement. Si on ne peut plus se garer près de la "
     "halle, elle ne viendra plus au marché. *Contre*, sauf vraie solution pour les personnes âgées."),
    ("e", "fiona", "d", Stance.NEUTRAL, 140,
     "Merci @carol, c'est un point important. Le projet garde 12 places réservées aux personnes à mobilité "
     "réduite rue de la Halle, et la navette sera accessible en fauteuil."),
    ("f", "carol", "e", Stance.NEUTRAL, 130,
     "Douze places pour tout le canton le jour du marché, c'est peu. Est-ce qu'on pourrait en avoir davantage "
     "le matin ?"),
    ("g", "bob", None, Stance.NEUTRAL, 100,
     "Avant de décider, pourquoi ne pas faire un essai sur trois samedis au printemps et compter les visiteurs ? "
     "On trancherait sur des chiffres."),
    ("h", "alice", "g", Stance.NEUTRAL, 90, "Bonne idée, un test avant l'été permettrait de voir ce qui coince."),
    ("j", "mona", "g", Stance.NEUTRAL, 80,
     "Bonne piste. Petit rappel de modération : on discute des idées, pas des personnes ; merci à tous pour le ton "
     "de ce fil."),
    ("i", "carol", None, Stance.FOR, 60,
     "Finalement, avec la navette accessible et un essai d'abord, je change d'avis : pour un test au printemps."),
]


def seed(stdout=None):
    User = get_user_model()
    if Debate.objects.filter(title=TITLE).exists():
        return
    people = {u.nickname: u for u in User.objects.filter(nickname__in=["alice", "bob", "carol", "fiona", "mona"])}
    if "fiona" not in people:
        return
    now = timezone.now()
    with override_settings(RATE_LIMITS_ENABLED=False), transaction.atomic():
        debate = services.create_debate(author=people["fiona"], title=TITLE, description=DESCRIPTION,
                                        instructions=INSTRUCTIONS)
        Debate.objects.filter(pk=debate.pk).update(created_at=now - timedelta(hours=4))
        services.post_update(debate=debate, actor=people["fiona"],
                             body="Le compte rendu de la réunion publique du 18 novembre est en ligne : "
                                  "[lire le compte rendu](https://www.example.org/compte-rendu).")
        made = {}
        for key, nickname, parent_key, stance, minutes, text in THREAD:
            author = people.get(nickname)
            if author is None:
                continue
            comment = services.post_comment(author=author, debate=debate, body=text, parent=made.get(parent_key),
                                            alignment=stance)
            Comment.objects.filter(pk=comment.pk).update(created_at=now - timedelta(minutes=minutes))
            made[key] = comment
        votes = [("a", "bob", 1), ("a", "carol", -1), ("a", "fiona", 1), ("d", "alice", 1), ("d", "bob", 1),
                 ("g", "alice", 1), ("g", "carol", 1), ("e", "carol", 1), ("i", "bob", 1), ("g", "mona", 1), ("i", "mona", 1)]
        for key, nickname, value in votes:
            if key in made and nickname in people:
                services.vote(comment=made[key], user=people[nickname], value=value)
    if stdout is not None:
        stdout.write(f"Debate demo: “{TITLE}” with {len(made)} comments.")
