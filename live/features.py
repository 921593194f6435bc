"""What the feature apps (debates, meetings, decidim) add to the pages and steps the core owns. Each app registers
here from its AppConfig.ready, and does nothing else there: the core (live/) never imports a feature app.

- home sections: a template and the few latest items it lists on the home page, in INSTALLED_APPS order;
- sign-in steps: what a visitor's session holds that becomes their account's when they sign in or sign up
  (live.accounts.services.signed_in runs them);
- sign-out notices: what to tell someone who signs out (read from the session before it is emptied);
- erasure steps: what each app (the core's own apps too) anonymizes when a person erases their account
  (live.accounts.services.erase_account runs them in its transaction);
- first-password steps: what an app undoes when an account that had no password gets one through the e-mailed
  reset link (live.accounts.views.PasswordResetConfirm runs them): the mailbox is proved, not the other ways in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class HomeSection:
    template: str
    items: Callable[[], Iterable]


_home_sections: dict[str, HomeSection] = {}
_sign_in_steps: dict[str, Callable] = {}
_sign_out_notices: dict[str, Callable] = {}
_erasure_steps: dict[str, Callable] = {}
_first_password_steps: dict[str, Callable] = {}


def _name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def add_home_section(*, template: str, items: Callable[[], Iterable]) -> None:
    """`template` is included in the home page with `items`: what `items()` returns, read on each visit."""
    _home_sections[template] = HomeSection(template=template, items=items)


def home_sections() -> list[HomeSection]:
    return list(_home_sections.values())


def add_sign_in_step(step: Callable) -> None:
    """`step(session=..., user=...)` runs right after a sign-in or a sign-up, with the session that now holds
    `user`."""
    _sign_in_steps[_name(step)] = step


def sign_in_steps() -> list[Callable]:
    return list(_sign_in_steps.values())


def add_sign_out_notice(notice: Callable) -> None:
    """`notice(request)` returns what to tell the person signing out, or None."""
    _sign_out_notices[_name(notice)] = notice


def sign_out_notices(request) -> list[str]:
    return [text for notice in _sign_out_notices.values() if (text := notice(request))]


def add_erasure_step(step: Callable) -> None:
    """`step(user=..., former=...)` anonymizes what the app keeps of `user`, in the erasure's transaction, and
    appends the events that update the open pages. `former` holds the personal data the account had (nickname,
    email), already wiped from the user row: what the step looks for in text others wrote (a notification naming
    them)."""
    _erasure_steps[_name(step)] = step


def erasure_steps() -> list[Callable]:
    return list(_erasure_steps.values())


def add_first_password_step(step: Callable) -> None:
    """`step(user=...)` runs once `user`, who had no password, has set one through the e-mailed reset link."""
    _first_password_steps[_name(step)] = step


def first_password_steps() -> list[Callable]:
    return list(_first_password_steps.values())
