"""Scores: rules admins define that give each contact points (a lead score, an
engagement score), computed in the background and asked for in queries (``score.KEY``).

A score's rules are each worth ``points`` (negative points take some away):

- ``match``: the points when the contact matches a query of the segment language
  (``tag:vip``, ``stage:customer AND title:*director*``, ``problem:invalid_email``).
  The query is checked whole when saved, with the messages a segment's query gets; it
  may not use a score (``score.KEY``), directly or through a segment.
- ``activity``: the points for each interaction of a kind (``interaction``: call,
  meeting, email…, empty for any) and ``direction`` (in, out, internal, empty for any)
  the contact took part in during the last ``window_days`` (90 unless given). Each
  interaction counts once (whatever the contact's roles in it); cancelled meetings do
  not count. With ``half_life_days`` each counts ``points × 0.5^(age in days ÷
  half_life_days)``: a call 30 days old with a half-life of 30 days counts half. ``cap``
  bounds what the rule gives one contact in all (taken from it, for negative points).
- ``recency``: ``points × 0.5^(days since ÷ half_life_days)`` for the last two-way
  interaction (``of: contacted``, the contact's "last contacted") or the last order
  counted as revenue (``of: ordered``); nothing when there was none, or when it was
  more than ``within_days`` ago.

A contact's value is the sum of its rules' points, rounded to a whole number
(``services.scoring`` computes it).

Every write raises NotPermitted (admins only: ``scores.manage``), InvalidInput naming
each bad field (``rules[1].points``: the second rule's points) with nothing saved, or
Conflict for a stale ``expected_version``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.db import transaction

from rapport.access.services import change_record
from rapport.activity.models import Interaction
from rapport.core import policy
from rapport.core.errors import Conflict, FieldError, InvalidInput
from rapport.core.text import fold
from rapport.segments.models import Score, ScoreRule
from rapport.segments.query import QueryError, render
from rapport.segments.query.compile import compile_tree
from rapport.segments.selectors import context_for, query_tree, segments_using

MAX_NAME = 100
MAX_RULES = 50
MAX_POINTS = 10_000
MAX_DAYS = 3_650
MAX_CAP = 1_000_000
DEFAULT_WINDOW = 90
KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")

_SETTINGS: dict[str, tuple[str, ...]] = {
    ScoreRule.Kind.MATCH: ("query",),
    ScoreRule.Kind.ACTIVITY: ("interaction", "direction", "window_days", "half_life_days", "cap"),
    ScoreRule.Kind.RECENCY: ("of", "half_life_days", "within_days"),
}
_ALL_SETTINGS = {name for names in _SETTINGS.values() for name in names}
# what a rule read back also holds: sent back, it is ignored (the list's order decides)
_READ_ONLY = ("position", "summary")
_DIRECTIONS = {"in": "inbound", "out": "outbound", "inbound": "inbound",
               "outbound": "outbound", "internal": "internal"}  # fmt: skip
RECENCY_OF = ("contacted", "ordered")


# -- checking what is sent ----------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(
    errors: list[FieldError],
    path: str,
    value: Any,
    *,
    low: float,
    high: float,
    whole: bool = True,
    above: bool = False,
) -> float | None:
    """A number from ``low`` to ``high`` (``above``: more than ``low``), given as a number
    or as its text; None (with an error) otherwise."""
    what = "a whole number" if whole else "a number"
    bound = f"more than {low:g}" if above else f"from {low:,g}"
    message = f"Must be {what} {bound} to {high:,g}."
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors.append(FieldError(path, message))
        return None
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except ValueError:
        errors.append(FieldError(path, message))
        return None
    fits = low < number <= high if above else low <= number <= high
    if not math.isfinite(number) or not fits or (whole and not number.is_integer()):
        errors.append(FieldError(path, message))
        return None
    return number


def _choice(
    errors: list[FieldError],
    path: str,
    value: Any,
    choices: Mapping[str, str],
    names: str,
    default: str = "",
) -> str:
    """One of ``choices`` (what may be sent → what is stored); ``default`` when empty or
    "any"."""
    if _blank(value) or value == "any":
        return default
    found = choices.get(value.strip().lower()) if isinstance(value, str) else None
    if found is None:
        errors.append(FieldError(path, f"One of: {names}; not “{value}”."))
        return default
    return found


def _query(errors: list[FieldError], path: str, value: Any, actor: Any) -> str:
    """The canonical text of a match rule's query, checked as a segment's is, with no
    score in it."""
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError(path, "A query is required (for example tag:vip)."))
        return ""
    try:
        tree = query_tree(value)
        compile_tree(tree, replace(context_for(actor), scores_allowed=False))
    except InvalidInput as exc:
        errors.extend(FieldError(path, e.message) for e in exc.errors)
        return ""
    except QueryError as exc:
        errors.append(FieldError(path, str(exc)))
        return ""
    return render(tree)


def _parameters(
    errors: list[FieldError], path: str, kind: str, data: Mapping[str, Any], actor: Any
) -> dict[str, Any]:
    if kind == ScoreRule.Kind.MATCH:
        return {"query": _query(errors, f"{path}.query", data.get("query"), actor)}
    half_life = data.get("half_life_days")
    if kind == ScoreRule.Kind.ACTIVITY:
        kinds = {k: k for k in Interaction.Kind.values}
        window = data.get("window_days")
        found: dict[str, Any] = {
            "interaction": _choice(errors, f"{path}.interaction", data.get("interaction"), kinds,
                                   f"any, {', '.join(kinds)}"),
            "direction": _choice(errors, f"{path}.direction", data.get("direction"), _DIRECTIONS,
                                 "any, in, out, internal"),
            "window_days": DEFAULT_WINDOW if _blank(window) else _number(
                errors, f"{path}.window_days", window, low=1, high=MAX_DAYS
            ),
            "half_life_days": None if _blank(half_life) else _number(
                errors, f"{path}.half_life_days", half_life, low=0, high=MAX_DAYS, whole=False,
                above=True,
            ),
            "cap": None if _blank(data.get("cap")) else _number(
                errors, f"{path}.cap", data.get("cap"), low=1, high=MAX_CAP
            ),
        }  # fmt: skip
    else:
        within = data.get("within_days")
        found = {
            "of": _choice(errors, f"{path}.of", data.get("of"), {o: o for o in RECENCY_OF},
                          ", ".join(RECENCY_OF), "contacted"),
            "half_life_days": None,
            "within_days": None if _blank(within) else _number(
                errors, f"{path}.within_days", within, low=1, high=10 * MAX_DAYS
            ),
        }  # fmt: skip
        if _blank(half_life):
            errors.append(FieldError(f"{path}.half_life_days", "A recency rule needs a half-life."))
        else:
            found["half_life_days"] = _number(
                errors, f"{path}.half_life_days", half_life, low=0, high=MAX_DAYS, whole=False,
                above=True,
            )  # fmt: skip
    # whole numbers are stored as such: 30, not 30.0
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in found.items()}


def _rule(errors: list[FieldError], index: int, data: Any, actor: Any) -> dict[str, Any] | None:
    """One rule as sent (``rules[index]``): its kind, label, points and the settings of
    its kind. Settings of another kind may be sent empty (what a rule read back holds)."""
    path = f"rules[{index}]"
    if not isinstance(data, Mapping):
        errors.append(FieldError(path, "A rule is an object: kind, points and its settings."))
        return None
    before = len(errors)
    kind = data.get("kind")
    if kind not in ScoreRule.Kind.values:
        errors.append(FieldError(f"{path}.kind", f"One of: {', '.join(ScoreRule.Kind.values)}."))
        return None
    for name, value in data.items():
        if name in ("kind", "label", "points", *_READ_ONLY) or name in _SETTINGS[kind]:
            continue
        if name not in _ALL_SETTINGS:
            errors.append(FieldError(f"{path}.{name}", "Unknown setting."))
        elif not _blank(value):
            errors.append(FieldError(
                f"{path}.{name}",
                f"Not a setting of a {kind} rule (it takes {', '.join(_SETTINGS[kind])}).",
            ))  # fmt: skip
    label = data.get("label")
    if label is not None and not isinstance(label, str):
        errors.append(FieldError(f"{path}.label", "Must be text."))
    elif label and len(label.strip()) > 200:
        errors.append(FieldError(f"{path}.label", "At most 200 characters."))
    points = None
    if _blank(data.get("points")):
        errors.append(FieldError(f"{path}.points", "Points are required (negative ones subtract)."))
    else:
        points = _number(
            errors, f"{path}.points", data.get("points"), low=-MAX_POINTS, high=MAX_POINTS
        )
    parameters = _parameters(errors, path, str(kind), data, actor)
    if len(errors) > before or points is None:
        return None
    return {
        "kind": kind,
        "label": (label or "").strip(),
        "points": int(points),
        "parameters": parameters,
    }


def _rules(errors: list[FieldError], data: Any, actor: Any) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        errors.append(FieldError("rules", "A list of rules."))
        return []
    if len(data) > MAX_RULES:
        errors.append(FieldError("rules", f"At most {MAX_RULES} rules."))
        return []
    rules = [_rule(errors, index, item, actor) for index, item in enumerate(data)]
    return [r for r in rules if r is not None]


def _storable(data: Any, path: str = "") -> list[FieldError]:
    """Text no database can store (NUL), wherever it is in what was sent."""
    if isinstance(data, str):
        return (
            [FieldError(path or "body", "Text cannot contain NUL characters.")]
            if "\x00" in data
            else []
        )
    if isinstance(data, Mapping):
        return [e for k, v in data.items() for e in _storable(v, f"{path}.{k}" if path else str(k))]
    if isinstance(data, list):
        return [e for i, v in enumerate(data) for e in _storable(v, f"{path}[{i}]")]
    return []


def _name(errors: list[FieldError], data: Mapping[str, Any], current: Score | None) -> str:
    name = data.get("name", current.name if current else "")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "A name is required."))
        return ""
    name = name.strip()
    if len(name) > MAX_NAME or len(fold(name)) > MAX_NAME:
        errors.append(FieldError("name", f"At most {MAX_NAME} characters."))
        return ""
    taken = Score.objects.filter(name_key=fold(name)).exclude(pk=current.pk if current else 0)
    if taken.exists():
        errors.append(FieldError("name", f"A score is already named “{name}”."))
    return name


def key_from(name: str) -> str:
    """A key made from a name: "Lead score (2025)" → ``lead_score_2025``."""
    key = re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")
    if key and not key[0].isalpha():
        key = f"s_{key}"
    return key[:40].rstrip("_")


def _key(errors: list[FieldError], data: Mapping[str, Any], name: str) -> str:
    given = data.get("key")
    if _blank(given):
        key = key_from(name)
        if not key and name:
            errors.append(FieldError("key", "Give a key: lower-case letters, digits and _."))
            return ""
    elif not isinstance(given, str) or KEY.fullmatch(given.strip()) is None:
        errors.append(FieldError(
            "key", "Lower-case letters, digits and _ (a letter first), at most 40: lead, engagement_2."
        ))  # fmt: skip
        return ""
    else:
        key = given.strip()
    other = Score.objects.filter(key=key).values_list("name", flat=True).first()
    if other is not None:
        errors.append(FieldError("key", f"The key “{key}” is taken by the score “{other}”."))
    return key


def _text(errors: list[FieldError], data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(key, "Must be text."))
        return default
    return value.strip()[:2000]


# -- writes --------------------------------------------------------------------------------


def _save_rules(score: Score, rules: list[dict[str, Any]]) -> None:
    score.rules.all().delete()
    ScoreRule.objects.bulk_create(
        [ScoreRule(score=score, position=n, **rule) for n, rule in enumerate(rules, start=1)]
    )


def _summaries(score: Score) -> list[str]:
    return [rule.summary for rule in score.rules.all()]


def _record(actor: Any, score: Score, action: str, changes: dict[str, Any], via: str) -> None:
    change_record(
        actor=actor, object_type="score", object_id=score.pk, object_repr=score.name,
        action=action, changes=changes, via=via,
    )  # fmt: skip


@transaction.atomic
def score_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Score:
    """Make a score from ``{name, key, description, rules}`` (``key`` made from the name
    when left out); the worker computes it within a minute or so. Raises NotPermitted,
    InvalidInput (every problem, each rule's by its index: ``rules[0].query``)."""
    policy.require(actor, "scores.manage")
    if unstorable := _storable(data):
        raise InvalidInput(unstorable)
    errors: list[FieldError] = []
    name = _name(errors, data, None)
    key = _key(errors, data, name)
    description = _text(errors, data, "description", "")
    rules = _rules(errors, data.get("rules", []), actor)
    if errors:
        raise InvalidInput(errors)
    score = Score.objects.create(
        name=name, name_key=fold(name), key=key, description=description,
        created_by=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    _save_rules(score, rules)
    _record(actor, score, "create", {"rules": [None, _summaries(score)]}, via)
    return score


@transaction.atomic
def score_update(
    *,
    actor: Any,
    score: Score,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    via: str = "ui",
) -> Score:
    """Change a score's name, description or rules (``rules`` given: the whole new list,
    in order). The key never changes: queries use it. Marks the score for the worker to
    compute again. Raises NotPermitted, InvalidInput, Conflict."""
    policy.require(actor, "scores.manage")
    current = Score.objects.select_for_update().filter(pk=score.pk).first()
    if current is None:
        raise Conflict("This score has been deleted.")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This score was changed by someone else since you loaded it.")
    if unstorable := _storable(data):
        raise InvalidInput(unstorable)
    errors: list[FieldError] = []
    name = _name(errors, data, current)
    given_key = data.get("key")
    if not _blank(given_key) and given_key != current.key:
        errors.append(FieldError("key", f"The key cannot change: queries use score.{current.key}."))
    description = _text(errors, data, "description", current.description)
    rules = _rules(errors, data["rules"], actor) if "rules" in data else None
    if errors:
        raise InvalidInput(errors)
    before = {"name": current.name, "description": current.description,
              "rules": _summaries(current)}  # fmt: skip
    current.name, current.name_key, current.description = name, fold(name), description
    if rules is not None:
        _save_rules(current, rules)
    current.version += 1
    current.stale = True
    current.save()
    after = {"name": current.name, "description": current.description,
             "rules": _summaries(current)}  # fmt: skip
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        _record(actor, current, "update", changes, via)
    return current


@transaction.atomic
def score_delete(
    *, actor: Any, score: Score, expected_version: int | None = None, via: str = "ui"
) -> None:
    """Delete a score, its rules and its values. Refused (InvalidInput on ``score``)
    while a segment's query uses it."""
    policy.require(actor, "scores.manage")
    current = Score.objects.select_for_update().filter(pk=score.pk).first()
    if current is None:
        raise Conflict("This score has been deleted.")
    if expected_version is not None and current.version != expected_version:
        raise Conflict("This score was changed by someone else since you loaded it.")
    users = segments_using(current.key)
    if users:
        raise InvalidInput.single(
            "score", f"Segments use score.{current.key} ({', '.join(users)}): change them first."
        )
    _record(actor, current, "delete", {"rules": [_summaries(current), None]}, via)
    current.delete()


def score_refresh_request(*, actor: Any, score: Score) -> None:
    """Ask for the score to be computed now, in the background (the worker's queue)."""
    from rapport.segments.tasks import refresh_score

    policy.require(actor, "scores.manage")
    Score.objects.filter(pk=score.pk).update(stale=True)
    pk = score.pk
    transaction.on_commit(lambda: refresh_score.enqueue(score_id=pk))
