"""The scores' pages under Settings: the list, a score with its rules, top contacts and
how its values are spread, and the editor (plain forms: a row per rule, "Add a rule"
without saving, errors beside the rule and setting they name); and the scores box on a
contact's page. Admins define scores; everyone who sees segments sees them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.activity.models import Interaction
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.core.panels import Panel
from rapport.segments import selectors, services
from rapport.segments.models import ContactScore, Score, ScoreRule
from rapport.segments.services.scores import MAX_RULES

_PATH = re.compile(r"rules\[(\d+)\](?:\.(\w+))?")
_CHOICES: dict[str, list[tuple[str, str]]] = {
    "kind": [("", "— no rule —"), *ScoreRule.Kind.choices],
    "interaction": [("", "Any interaction"), *Interaction.Kind.choices],
    "direction": [
        ("", "Any direction"),
        ("inbound", "Inbound"),
        ("outbound", "Outbound"),
        ("internal", "Internal"),
    ],  # fmt: skip
    "of": [("contacted", "Last contacted"), ("ordered", "Last order")],
}
# (setting, label, help) of each kind's part of a rule's row
_SETTINGS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "match": (("query", "Query", "As in a segment: tag:vip AND stage:customer"),),
    "activity": (
        ("interaction", "Interaction", ""),
        ("direction", "Direction", ""),
        ("window_days", "Within the last … days", "90 when empty"),
        ("half_life_days", "Half-life in days", "Empty: no decay"),
        ("cap", "At most … points in all", "Empty: no cap"),
    ),
    "recency": (
        ("of", "Since", ""),
        ("half_life_days", "Half-life in days", "Points halve every … days"),
        ("within_days", "Only within … days", "Empty: however long ago"),
    ),
}
_COMMON = ("kind", "label", "points")


@dataclass
class Input:
    name: str
    id: str
    label: str
    value: str
    hint: str = ""
    errors: list[str] = field(default_factory=list)
    choices: list[tuple[str, str]] | None = None

    @property
    def wide(self) -> bool:
        return self.name.endswith(".query")


@dataclass
class Row:
    """One rule's inputs on the editor. A setting's value is kept per kind
    (``activity.half_life_days``), so switching a rule's kind loses nothing typed."""

    index: int
    values: dict[str, str]
    removed: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)

    def _input(self, name: str, label: str, hint: str = "") -> Input:
        setting = name.rpartition(".")[2]
        return Input(f"rule-{self.index}-{name}", f"rule-{self.index}-{name.replace('.', '-')}",
                     label, self.values.get(name, ""), hint, self.errors.get(name, []),
                     _CHOICES.get(setting))  # fmt: skip

    @property
    def common(self) -> list[Input]:
        return [self._input("kind", "Kind"), self._input("points", "Points", "Negative subtracts"),
                self._input("label", "Label")]  # fmt: skip

    @property
    def groups(self) -> list[tuple[str, str, list[Input], bool]]:
        """Each kind's settings, and whether to show them open (the rule's kind)."""
        return [
            (kind, label,
             [self._input(f"{kind}.{s}", lbl, hint) for s, lbl, hint in _SETTINGS[kind]],
             self.values.get("kind") == kind)
            for kind, label in ScoreRule.Kind.choices
        ]  # fmt: skip

    @property
    def general(self) -> list[str]:
        return self.errors.get("", [])


def _names() -> list[str]:
    return [*_COMMON, *(f"{kind}.{s}" for kind, group in _SETTINGS.items() for s, _l, _h in group)]


def _blank_row(index: int) -> Row:
    return Row(index, {"recency.of": "contacted"})


def _rows_of(score: Score | None) -> list[Row]:
    rows = []
    for index, rule in enumerate(score.rules.all() if score else []):
        values = {"kind": rule.kind, "label": rule.label, "points": str(rule.points)}
        values |= {
            f"{rule.kind}.{k}": "" if v is None else str(v) for k, v in rule.parameters.items()
        }
        rows.append(Row(index, values))
    return [*rows, _blank_row(len(rows))]


def _rows_posted(post: QueryDict) -> list[Row]:
    count = post.get("rule_rows", "0")
    count = min(int(count), MAX_RULES + 10) if count.isdecimal() and len(count) < 4 else 0
    return [
        Row(i, {name: post.get(f"rule-{i}-{name}", "").strip() for name in _names()},
            removed=post.get(f"rule-{i}-remove") == "on")
        for i in range(count)
    ]  # fmt: skip


def _rules_sent(rows: list[Row]) -> tuple[list[dict[str, str]], list[Row]]:
    """The rules for the service (rows with no kind or removed left out, and of each
    rule only its kind's settings), and the row each came from."""
    rules, origin = [], []
    for row in rows:
        kind = row.values.get("kind", "")
        if row.removed or not kind:
            continue
        rule = {k: row.values.get(k, "") for k in _COMMON}
        for setting, _label, _hint in _SETTINGS.get(kind, ()):
            if row.values.get(f"{kind}.{setting}"):
                rule[setting] = row.values[f"{kind}.{setting}"]
        rules.append(rule)
        origin.append(row)
    return rules, origin


def _place_errors(exc: InvalidInput, origin: list[Row]) -> dict[str, list[str]]:
    """Each rule's errors onto its row and input; the rest (name, key…) by field."""
    others: dict[str, list[str]] = {}
    for error in exc.errors:
        found = _PATH.fullmatch(error.path)
        if found and int(found[1]) < len(origin):
            row = origin[int(found[1])]
            name = found[2] or ""
            if name and name not in _COMMON:
                name = f"{row.values.get('kind')}.{name}"
            row.errors.setdefault(name, []).append(error.message)
        else:
            others.setdefault(error.path, []).append(error.message)
    return others


def _editor(
    request: HttpRequest, score: Score | None, values: dict[str, str], rows: list[Row],
    errors: dict[str, list[str]], status: int = 200,
) -> HttpResponse:  # fmt: skip
    context = {"score": score, "values": values, "rows": rows, "errors": errors,
               "rule_errors": any(r.errors for r in rows), "max_rules": MAX_RULES}  # fmt: skip
    return render(request, "segments/score_form.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def score_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy.require(request.user, "scores.manage")
    score = get_object_or_404(Score, pk=pk) if pk else None
    if request.method == "GET":
        values = {"name": score.name if score else "", "key": score.key if score else "",
                  "description": score.description if score else ""}  # fmt: skip
        return _editor(request, score, values, _rows_of(score), {})
    values = {k: request.POST.get(k, "") for k in ("name", "key", "description")}
    rows = _rows_posted(request.POST)
    if "add_rule" in request.POST:
        return _editor(request, score, values, [*rows, _blank_row(len(rows))], {})
    rules, origin = _rules_sent(rows)
    data: dict[str, Any] = {"name": values["name"], "description": values["description"],
                            "rules": rules}  # fmt: skip
    try:
        if score is None:
            score = services.score_create(actor=request.user, data={**data, "key": values["key"]})
        else:
            version = request.POST.get("version", "")
            score = services.score_update(
                actor=request.user, score=score, data=data,
                expected_version=int(version) if version.isdecimal() and len(version) < 10 else None,
            )  # fmt: skip
    except InvalidInput as exc:
        return _editor(request, score, values, rows, _place_errors(exc, origin), 422)
    except Conflict as exc:
        return _editor(request, score, values, rows, {"": [str(exc)]}, 409)
    messages.success(
        request, f"Saved the score “{score.name}”: the worker computes it within a minute or so."
    )
    return redirect("scores:detail", pk=score.pk)


@page
@require_GET
def score_list(request: HttpRequest) -> HttpResponse:
    scores = list(selectors.scores_visible(request.user).annotate(rule_count=Count("rules")))
    scored = dict(
        ContactScore.objects.order_by().values("score").annotate(n=Count("pk"))
        .values_list("score", "n")
    )  # fmt: skip
    context = {
        "scores": [(s, scored.get(s.pk, 0)) for s in scores],
        "can_manage": policy.can(request.user, "scores.manage"),
    }
    return render(request, "segments/score_list.html", context)


@page
@require_GET
def score_detail(request: HttpRequest, pk: int) -> HttpResponse:
    score = get_object_or_404(selectors.scores_visible(request.user), pk=pk)
    distribution = selectors.score_distribution(score)
    context = {
        "score": score,
        "rules": list(score.rules.all()),
        "top": selectors.score_top(score, limit=20),
        "lowest": selectors.score_top(score, limit=10, lowest=True)
        if distribution.bands and distribution.bands[0].low < 0
        else [],
        "distribution": distribution,
        "segments": selectors.segments_using(score.key),
        "can_manage": policy.can(request.user, "scores.manage"),
    }
    return render(request, "segments/score_detail.html", context)


@page
@require_POST
def score_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    score = get_object_or_404(Score, pk=pk)
    services.score_refresh_request(actor=request.user, score=score)
    messages.success(request, f"Computing “{score.name}” again: it takes a minute or so.")
    return redirect("scores:detail", pk=pk)


@page
@require_POST
def score_delete(request: HttpRequest, pk: int) -> HttpResponse:
    score = get_object_or_404(Score, pk=pk)
    try:
        services.score_delete(actor=request.user, score=score)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
        return redirect("scores:detail", pk=pk)
    messages.success(request, f"Deleted the score “{score.name}”.")
    return redirect("scores:list")


def contact_panels(request: HttpRequest, contact: Any) -> list[Panel]:
    """The scores box on a contact's page: each score's value (0 when none)."""
    if not policy.can(request.user, "segments.view"):
        return []
    found = selectors.contact_scores(request.user, contact.pk)
    if not found:
        return []
    html = render_to_string("segments/_contact_scores.html", {"found": found}, request=request)
    return [Panel(html=html, place="side", order=25)]  # type: ignore[arg-type]
