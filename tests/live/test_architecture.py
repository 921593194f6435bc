"""The rules of the layout, read from the source (ast) so that they check themselves as the code grows:

- every event kind a service appends has a renderer and a line in docs/realtime.md;
- every rate-limit action the code uses is declared in live/ratelimit.py;
- imports go one way: a renderer never imports a view, permissions never import services (or views), and the core
  (live/) never imports a feature app;
- no receiver of Django's model or auth signals (side effects happen in the services, called explicitly);
- the admin cannot write around a service."""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory

from live import ratelimit, streams

ROOT = Path(__file__).resolve().parents[2]
CORE = "live"


@cache
def feature_apps() -> tuple[str, ...]:
    """The top-level packages of the project that are Django apps, besides the core."""
    return tuple(sorted(p.parent.name for p in ROOT.glob("*/apps.py") if p.parent.name != CORE))


@cache
def modules() -> dict[str, ast.Module]:
    """Every module of the project's apps (not migrations, tests or bench), by dotted name."""
    found = {}
    for package in (CORE, *feature_apps()):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = ast.parse(path.read_text(), filename=str(path))
    return found


def where(name: str, node: ast.AST) -> str:
    return f"{name.replace('.', '/')}.py:{node.lineno}"


def literal_strings(node: ast.AST) -> list[str] | None:
    """The strings an expression can be: a literal, or either branch of `a if c else b`; None when not literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = literal_strings(node.body), literal_strings(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def calls_to(tree: ast.AST, owner: str, names: set[str]):
    """Calls `owner.name(...)` (or a bare `name(...)` imported from it) with `name` in `names`."""
    imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and (node.module or "").endswith(owner) for alias in node.names}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == owner \
                and func.attr in names:
            yield func.attr, node
        elif isinstance(func, ast.Name) and func.id in names and func.id in imported:
            yield func.id, node


def argument(call: ast.Call, position: int | None, keyword: str) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    return call.args[position] if position is not None and len(call.args) > position else None


# --- event kinds -------------------------------------------------------------------------------------------------

# live/streams.py's functions that record an event: append(key, kind, ...), append_together(keys, kind, ...).
APPENDERS = {name for name, fn in vars(streams).items() if inspect.isfunction(fn) and fn.__module__ == streams.__name__
             and list(inspect.signature(fn).parameters)[:2] in (["key", "kind"], ["keys", "kind"])}
KIND_POSITION = 1


@cache
def emitted_kinds() -> dict[str, list[str]]:
    """kind -> where it is appended: `streams.append(key, kind, ...)` and `append_together(keys, kind, ...)`, and
    the calls of any function that passes its own `kind` parameter on to them (meetings' _emit)."""
    kinds: dict[str, list[str]] = {}
    not_literal = []
    for name, tree in modules().items():
        if name == "live.streams":
            continue
        wrappers = {}
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            positional = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            for _name, call in calls_to(fn, "streams", APPENDERS):
                kind = argument(call, KIND_POSITION, "kind")
                if isinstance(kind, ast.Name) and kind.id in positional:
                    wrappers[fn.name] = (positional.index(kind.id), kind.id)
                elif isinstance(kind, ast.Name) and kind.id in [a.arg for a in fn.args.kwonlyargs]:
                    wrappers[fn.name] = (None, kind.id)
        sites = list(calls_to(tree, "streams", APPENDERS))
        sites += [(called, node) for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and (called := called_name(node)) in wrappers]
        for called, call in sites:
            kind = argument(call, *wrappers.get(called, (KIND_POSITION, "kind")))
            values = literal_strings(kind) if kind is not None else None
            if values is None:
                if not (isinstance(kind, ast.Name) and any(
                        isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in wrappers
                        and fn.lineno <= call.lineno <= fn.end_lineno for fn in ast.walk(tree))):
                    not_literal.append(where(name, call))
                continue
            for value in values:
                kinds.setdefault(value, []).append(where(name, call))
    assert not not_literal, f"event kinds must be literal strings (so that they can be listed): {not_literal}"
    return kinds


def test_the_event_kinds_are_found():
    kinds = emitted_kinds()
    # What the reading must find, whatever else is added: a plain append, a conditional kind, meetings' _emit.
    assert {"comment.posted", "debate.locked", "debate.unlocked", "contribution.changed"} <= set(kinds)


def test_every_event_kind_has_a_renderer():
    missing = {kind: sites for kind, sites in emitted_kinds().items() if kind not in streams._renderers}
    assert not missing, f"no @streams.renderer for: {missing}"


def test_every_event_kind_is_documented_and_every_documented_kind_is_emitted():
    doc = (ROOT / "docs" / "realtime.md").read_text()
    assert "## Event kinds" in doc, "docs/realtime.md lists the event kinds in a section of that name"
    section = doc.split("## Event kinds", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, re.MULTILINE))
    emitted = set(emitted_kinds())
    assert not emitted - documented, f"add a line to docs/realtime.md (Event kinds) for: {sorted(emitted - documented)}"
    assert not documented - emitted, f"docs/realtime.md lists kinds nothing emits: {sorted(documented - emitted)}"


# --- rate limits -------------------------------------------------------------------------------------------------

def _declared_windows() -> set[str]:
    """The functions of live.ratelimit that take an `action` and read its declared limit (the ones that bring their
    own window, like `once_per(action, who, seconds)`, declare nothing)."""
    names = set()
    for name, fn in vars(ratelimit).items():
        if name.startswith("_") or not callable(fn) or getattr(fn, "__module__", None) != ratelimit.__name__:
            continue
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            continue
        if "action" in params and "seconds" not in params and not inspect.isclass(fn):
            names.add(name)
    return names


def _function(name: str, tree: ast.Module, function: str) -> tuple[str, ast.AST] | None:
    """The definition of `function` as seen from module `name`: defined there, or imported from another module."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return name, node
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in modules() \
                and function in {alias.name for alias in node.names}:
            return _function(node.module, modules()[node.module], function)
    return None


def _pairs(name: str, tree: ast.Module, value: ast.AST, depth=0) -> list[ast.AST] | None:
    """The first items of the (action, who) pairs an expression yields: a list of tuples, what a function returns,
    or what a variable was assigned (the sign-in throttles)."""
    if depth > 5:
        return None
    if isinstance(value, (ast.List, ast.Tuple)):
        return [elt.elts[0] for elt in value.elts if isinstance(elt, ast.Tuple) and elt.elts] or None
    if isinstance(value, ast.Call) and called_name(value):
        found = _function(name, tree, called_name(value))
        if found is None:
            return None
        where_, fn = found
        returns = [ret.value for ret in ast.walk(fn) if isinstance(ret, ast.Return) and ret.value is not None]
        firsts = [first for ret in returns for first in (_pairs(where_, modules()[where_], ret, depth + 1) or [])]
        return firsts or None
    if isinstance(value, ast.Name):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == value.id for t in node.targets):
                return _pairs(name, tree, node.value, depth + 1)
    return None


def _resolve(name: str, tree: ast.Module, value: ast.AST) -> list[ast.AST] | None:
    """An action given as a loop variable (`for action, who in pairs`) resolved to the pairs' first items."""
    if not isinstance(value, ast.Name):
        return [value]
    for loop in ast.walk(tree):
        targets = [(loop.target, loop.iter)] if isinstance(loop, (ast.For, ast.comprehension)) else []
        for target, iterated in targets:
            names = [target] if isinstance(target, ast.Name) else getattr(target, "elts", [])
            if names and isinstance(names[0], ast.Name) and names[0].id == value.id:
                found = _pairs(name, tree, iterated)
                if found is not None:
                    return found
    return None


@cache
def used_actions() -> dict[str, list[str]]:
    actions: dict[str, list[str]] = {}
    unreadable = []
    functions = _declared_windows()
    for name, tree in modules().items():
        if name == "live.ratelimit":
            continue
        sites = [(call, argument(call, 0, "action")) for _f, call in calls_to(tree, "ratelimit", functions)]
        sites += [(call, argument(call, 1, "action")) for _f, call in calls_to(tree, "ratelimit", {"RateLimited"})]
        for call, value in sites:
            if value is None:
                continue
            resolved = _resolve(name, tree, value)
            for item in resolved or [None]:
                strings = literal_strings(item) if item is not None else None
                if strings is None:
                    unreadable.append(where(name, call))
                for action in strings or []:
                    actions.setdefault(action, []).append(where(name, call))
    assert not unreadable, f"rate-limit actions must be literal strings (so that they can be checked): {unreadable}"
    return actions


def test_the_rate_limit_actions_are_found():
    assert {"comment", "vote", "login", "login_ip", "moderate"} <= set(used_actions())


def test_every_rate_limit_action_used_is_declared():
    undeclared = {action: sites for action, sites in used_actions().items() if action not in ratelimit.DEFAULT_LIMITS}
    assert not undeclared, f"declare these in live/ratelimit.py DEFAULT_LIMITS (else they share 'default'): {undeclared}"


def test_every_declared_rate_limit_is_used():
    stale = set(ratelimit.DEFAULT_LIMITS) - set(used_actions())
    assert not stale, f"live/ratelimit.py declares limits nothing uses: {sorted(stale)}"


# --- imports -----------------------------------------------------------------------------------------------------

def imports_of(name: str, tree: ast.Module):
    """(imported module, node) for every import in the module, at any depth (a function-level import counts)."""
    known = modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield (full if full in known else node.module), node


def is_renderer(name: str, tree: ast.Module) -> bool:
    """A module that renders events: it registers `@streams.renderer`s, or is named for rendering."""
    if name.rsplit(".", 1)[-1] in {"renderers", "rendering", "fragments"}:
        return True
    return any(True for _f, _call in calls_to(tree, "streams", {"renderer"}))


def _last(module: str) -> str:
    return module.rsplit(".", 1)[-1]


RULES = [
    ("a renderer imports a view", is_renderer, lambda target: _last(target) == "views"),
    ("permissions import services", lambda name, _tree: _last(name) == "permissions",
     lambda target: _last(target) in {"services", "views"}),
    ("the core imports a feature app", lambda name, _tree: name.split(".")[0] == CORE,
     lambda target: target.split(".")[0] in feature_apps()),
]


def import_violations() -> list[str]:
    found = []
    for rule, applies, forbidden in RULES:
        for name, tree in modules().items():
            if not applies(name, tree):
                continue
            for target, node in imports_of(name, tree):
                if forbidden(target):
                    found.append(f"{rule}: {where(name, node)} imports {target}")
    return found


def test_imports_go_one_way():
    found = import_violations()
    assert not found, "\n".join(found)


def test_the_import_rules_catch_what_they_forbid():
    """The rules, applied to the shapes they forbid (the meetings permissions <-> services circle of before)."""
    samples = {
        "meetings.permissions": "from meetings import services\n",
        "debates.renderers": "def render():\n    from debates.views import moderation_urls\n",
        "live.views": "def home():\n    from debates.models import Debate\n",
    }
    real = modules()
    try:
        for name, source in samples.items():
            real[name] = ast.parse(source)
        caught = "\n".join(import_violations())
    finally:
        modules.cache_clear()
    assert "permissions import services: meetings/permissions.py:1 imports meetings.services" in caught
    assert "a renderer imports a view: debates/renderers.py:2 imports debates.views" in caught
    assert "the core imports a feature app: live/views.py:2 imports debates.models" in caught


# --- signals -----------------------------------------------------------------------------------------------------

# What people do (a row saved, a sign-in) has its consequences in the service that does it, called explicitly. The
# server's own plumbing may listen (connection_created, setting_changed): no user action is behind those.
PEOPLES_SIGNALS = ("django.db.models.signals", "django.contrib.auth.signals")


def test_no_receivers_of_model_or_auth_signals():
    found = []
    for name, tree in modules().items():
        imported = {alias.asname or alias.name: node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect" \
                    and isinstance(node.func.value, ast.Name) \
                    and imported.get(node.func.value.id, "") in PEOPLES_SIGNALS:
                found.append(f"{where(name, node)}: {node.func.value.id}.connect")
            if isinstance(node, ast.Call) and called_name(node) == "receiver" and node.args \
                    and isinstance(node.args[0], ast.Name) and imported.get(node.args[0].id, "") in PEOPLES_SIGNALS:
                found.append(f"{where(name, node)}: @receiver({node.args[0].id})")
    assert not found, f"call the service explicitly instead of receiving a signal: {found}"


# --- the admin ---------------------------------------------------------------------------------------------------

def overrides(model_admin, method: str) -> bool:
    return getattr(type(model_admin), method) is not getattr(admin.ModelAdmin, method)


@pytest.mark.django_db
def test_the_admin_writes_through_the_services(admin_user):
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    ours = {config.label for config in apps.get_app_configs()
            if config.name.split(".")[0] in (CORE, *feature_apps())}
    checked, bypasses = [], []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ours:
            continue
        checked.append(model.__name__)
        label = f"{type(model_admin).__module__}.{type(model_admin).__name__}"
        if model_admin.has_delete_permission(request) and not (
                overrides(model_admin, "delete_model") and overrides(model_admin, "delete_queryset")):
            bypasses.append(f"{label} deletes rows itself: forbid it or delete through the service")
        editable = set(model_admin.get_fields(request)) - set(model_admin.get_readonly_fields(request))
        writes = model_admin.has_add_permission(request) or (model_admin.has_change_permission(request) and editable)
        if writes and not overrides(model_admin, "save_model"):
            bypasses.append(f"{label} saves rows itself: forbid it or save through the service")
        for inline in model_admin.get_inline_instances(request):
            if (inline.has_add_permission(request, None) or inline.has_change_permission(request)
                    or (inline.can_delete and inline.has_delete_permission(request))) \
                    and not overrides(model_admin, "save_formset"):
                bypasses.append(f"{label} saves {inline.model.__name__} rows itself")
    assert {"Comment", "Debate", "Meeting", "User"} <= set(checked)
    assert not bypasses, bypasses
