"""Task pages: My tasks (complete with one key), the task form, completing, reopening
and deleting. Every write goes through services.tasks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date, parse_time
from django.views.decorators.http import require_http_methods, require_POST

from rapport.access.models import User
from rapport.activity.models import Task
from rapport.activity.selectors import tasks as selectors
from rapport.activity.services import tasks as services
from rapport.activity.services.zones import user_zone
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.models import Contact, Organization
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput

REMIND_CHOICES = [
    ("", "No reminder"),
    ("0", "When due"),
    ("15", "15 minutes before"),
    ("60", "1 hour before"),
    ("1440", "1 day before"),
    ("10080", "1 week before"),
]
REPEAT_CHOICES = [
    ("", "Does not repeat"),
    ("FREQ=DAILY", "Every day"),
    ("FREQ=WEEKLY", "Every week"),
    ("FREQ=MONTHLY", "Every month"),
    ("FREQ=YEARLY", "Every year"),
]
# Service field paths shown next to another form field.
_FIELD_OF = {"due_at": "due", "due_date": "due"}


def _assignee_wanted(request: HttpRequest) -> tuple[User | None, str]:
    """Whose tasks the page shows (``?assignee=<username>``, ``none``, else one's own)."""
    wanted = request.GET.get("assignee", "").strip()
    if wanted == "none":
        return None, wanted
    if wanted and wanted != request.user.get_username():
        found = User.objects.filter(username=wanted).first()
        if found is not None:
            return found, wanted
        messages.error(request, f"There is no user {wanted!r}; showing your tasks.")
    return request.user, wanted  # type: ignore[return-value]


def _more_url(wanted: str, section: selectors.TaskSection) -> str:
    """The address of a section's next page ("Load more"), or "" at its end."""
    if not section.next_cursor:
        return ""
    query = {"section": section.key, "cursor": section.next_cursor}
    if wanted:
        query["assignee"] = wanted
    return f"{reverse('activity:tasks')}?{urlencode(query)}"


@page
def task_list(request: HttpRequest) -> HttpResponse:
    """My tasks: overdue, today, upcoming and undated; others' with ``?assignee=``.
    Each section shows its first page; ``?section=…&cursor=…`` is the next page of one
    section: its rows for htmx ("Load more"), a page of its own without JavaScript."""
    policy.require(request.user, "tasks.view")
    assignee, wanted = _assignee_wanted(request)
    zone = user_zone(assignee or request.user)
    section_key = request.GET.get("section", "")
    if section_key or request.GET.get("cursor"):
        try:
            section = selectors.my_tasks_section(
                actor=request.user,
                assignee=assignee,
                section=section_key,
                cursor=request.GET.get("cursor") or None,
            )
        except InvalidInput as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
        if is_htmx(request):
            context = {"section": section, "more_url": _more_url(wanted, section), "zone": zone}
            return vary_on_htmx(render(request, "activity/tasks/_task_rows.html", context))
        sections, continued = [section], True
    else:
        sections = selectors.my_tasks(actor=request.user, assignee=assignee).sections
        continued = False
    context = {
        "sections": [(s, _more_url(wanted, s)) for s in sections],
        "continued": continued,
        "empty": not any(s.items for s in sections),
        "assignee": assignee,
        "mine": assignee is not None and assignee.pk == request.user.pk,
        "users": User.objects.filter(is_active=True).order_by("username"),
        "wanted": wanted,
        "zone": zone,
    }
    return vary_on_htmx(render(request, "activity/tasks/task_list.html", context))


def _form_data(post: QueryDict, zone: dt.tzinfo) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The service's input from the form's fields; errors of fields only the form has."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {
        "title": post.get("title", ""),
        "notes": post.get("notes", ""),
        "kind": post.get("kind", "") or "todo",
        "priority": post.get("priority", "") or "2",
        "assignee": post.get("assignee", "") or None,
        "remind_before": post.get("remind_before", "") or None,
    }
    repeat = post.get("recurrence", "")
    data["recurrence"] = post.get("recurrence_custom", "") if repeat == "custom" else repeat
    day_text, time_text = post.get("due_date", "").strip(), post.get("due_time", "").strip()
    day = parse_date(day_text) if day_text else None
    if day_text and day is None:
        errors["due"] = ["Give a day such as 2026-03-01."]
    clock = None
    if time_text:
        try:
            clock = parse_time(time_text)
        except ValueError:
            clock = None
        if clock is None:
            errors["due"] = ["Give a time such as 14:30."]
        elif day is None and "due" not in errors:
            errors["due"] = ["A due time needs a day."]
    if day and clock:
        data["due_at"], data["due_date"] = dt.datetime.combine(day, clock, tzinfo=zone), None
    else:
        data["due_date"], data["due_at"] = day, None
    for kind in RELATED_KINDS:
        data[f"{kind}_ids"] = _chosen(post, kind)
    return data, errors


def _form_context(
    request: HttpRequest,
    task: Task | None,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    candidates: list[RelatedOption] | None = None,
) -> dict[str, Any]:
    return {
        "task": task,
        "values": values,
        "errors": errors,
        "error_list": [(k, m) for k, ms in errors.items() for m in ms],
        "kinds": Task.Kind.choices,
        "priorities": Task.Priority.choices,
        "statuses": Task.Status.choices,
        "remind_choices": REMIND_CHOICES,
        "repeat_choices": REPEAT_CHOICES,
        "users": User.objects.filter(is_active=True).order_by("username"),
        "chips": _chips(
            request.user,
            contact_ids=values.get("contact_ids", []),
            organization_ids=values.get("organization_ids", []),
        ),
        "candidates": candidates,
        "zone": user_zone(request.user),
    }


def _values_of(task: Task, zone: dt.tzinfo) -> dict[str, Any]:
    due_at = task.due_at.astimezone(zone) if task.due_at else None
    due_day = due_at.date() if due_at else task.due_date
    repeat = task.recurrence
    known = {value for value, _ in REPEAT_CHOICES}
    return {
        "title": task.title,
        "notes": task.notes,
        "kind": task.kind,
        "priority": str(task.priority),
        "assignee": task.assignee.username if task.assignee else "",
        "due_date": due_day.isoformat() if due_day else "",
        "due_time": f"{due_at:%H:%M}" if due_at else "",
        "remind_before": "" if task.remind_before is None else str(task.remind_before),
        "recurrence": repeat if repeat in known else "custom",
        "recurrence_custom": "" if repeat in known else repeat,
        "status": task.status,
        "contact_ids": [str(c) for c in getattr(task, "related_contact_ids", [])],
        "organization_ids": [str(o) for o in getattr(task, "related_organization_ids", [])],
    }


def _errors_of(exc: InvalidInput) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in exc.errors:
        field = error.path.split("[")[0]
        key = _FIELD_OF.get(error.path, "related" if field in _RELATED_FIELDS else field)
        found.setdefault(key, []).append(error.message)
    return found


def _posted_values(request: HttpRequest) -> dict[str, Any]:
    values: dict[str, Any] = {key: request.POST.get(key, "") for key in request.POST}
    for kind in RELATED_KINDS:
        values[f"{kind}_ids"] = _chosen(request.POST, kind)
    return values


# -- the Related field: a type-ahead that adds chips -----------------------------------

RELATED_KINDS = ("contact", "organization")
_RELATED_FIELDS = {f"{kind}_ids" for kind in RELATED_KINDS}
_KIND_LABEL = {"contact": "Person", "organization": "Organization"}


@dataclass(frozen=True)
class RelatedOption:
    """A contact or organization the Related field shows: a chip, or a match to pick."""

    kind: str  # "contact" or "organization"
    value: str  # its id as posted (an unknown or malformed one is kept, to be shown)
    label: str
    detail: str = ""  # an email address or an industry
    known: bool = True

    @property
    def field(self) -> str:
        return f"{self.kind}_ids"

    @property
    def kind_label(self) -> str:
        return _KIND_LABEL[self.kind]


def _chosen(post: QueryDict, kind: str) -> list[str]:
    return [v.strip() for v in post.getlist(f"{kind}_ids") if v.strip()]


def _chips(
    actor: Any, *, contact_ids: list[Any], organization_ids: list[Any]
) -> list[RelatedOption]:
    """The chips of the ids posted (or stored), named when the actor may see them; an id
    that names nothing stays, marked, so the form can say so and the user remove it."""
    chips: list[RelatedOption] = []
    for kind, given, model, name_field, action in (
        ("contact", contact_ids, Contact, "display_name", "contacts.view"),
        ("organization", organization_ids, Organization, "name", "organizations.view"),
    ):
        wanted = [str(v) for v in given]
        ids = [int(v) for v in wanted if v.isdecimal() and 0 < int(v) < 2**63]
        names: dict[int, str] = {}
        if ids and policy.can(actor, action):
            names = dict(model._default_manager.filter(pk__in=ids).values_list("id", name_field))
        for value in dict.fromkeys(wanted):
            pk = int(value) if value.isdecimal() and 0 < int(value) < 2**63 else None
            if pk is not None and pk in names:
                chips.append(RelatedOption(kind, value, names[pk]))
            else:
                label = f"{_KIND_LABEL[kind]} {value}" if pk else f"“{value[:40]}”"
                chips.append(RelatedOption(kind, value, f"{label} (not found)", known=False))
    return chips


def _matches(actor: Any, q: str, *, chosen: dict[str, list[str]]) -> list[RelatedOption]:
    """Contacts and organizations whose name or email matches ``q`` (the header search's
    selector, so only what the actor may see), those already chosen left out."""
    try:
        found = contact_selectors.search_everything(actor=actor, q=q, limit=8)
    except InvalidInput:
        return []
    options = [
        RelatedOption(
            "contact",
            str(c.pk),
            c.display_name,
            next((e.address for e in c.email_list if e.primary), "")
            or (c.email_list[0].address if c.email_list else ""),
        )
        for c in found["contacts"]
        if str(c.pk) not in chosen["contact"]
    ]
    options += [
        RelatedOption("organization", str(o.pk), o.name, o.industry or "")
        for o in found["organizations"]
        if str(o.pk) not in chosen["organization"]
    ]
    return options


def _may_fill_task_form(actor: Any) -> None:
    if not (policy.can(actor, "tasks.add") or policy.can(actor, "tasks.change")):
        policy.require(actor, "tasks.add")  # raises, naming what is missing


@page
def task_related_lookup(request: HttpRequest) -> HttpResponse:
    """The Related field's type-ahead (``?related_q=``): the matching contacts and
    organizations, each an option that adds its chip; the ids already chosen
    (``contact_ids`` / ``organization_ids``, sent along) are left out."""
    _may_fill_task_form(request.user)
    q = request.GET.get("related_q", "").strip()
    chosen = {kind: _chosen(request.GET, kind) for kind in RELATED_KINDS}
    options = _matches(request.user, q, chosen=chosen) if q else []
    context = {"q": q, "options": options}
    return vary_on_htmx(render(request, "activity/tasks/_related_options.html", context))


@page
def task_related_chip(request: HttpRequest) -> HttpResponse:
    """The chip of one contact (``?contact=<id>``) or organization (``?organization=``)
    picked in the Related field; 404 when there is none the user may see."""
    _may_fill_task_form(request.user)
    kind = "contact" if "contact" in request.GET else "organization"
    value = request.GET.get(kind, "").strip()
    if not (value.isdecimal() and 0 < int(value) < 2**63):
        raise Http404("There is no such record.")
    if kind == "contact":
        contact = contact_selectors.contact_get(actor=request.user, contact_id=int(value))
        chip = RelatedOption(kind, value, contact.display_name)
    else:
        org = contact_selectors.organization_get(actor=request.user, org_id=int(value))
        chip = RelatedOption(kind, value, org.name)
    return render(request, "activity/tasks/_related_chip.html", {"chip": chip})


def _related_search(
    request: HttpRequest, errors: dict[str, list[str]]
) -> list[RelatedOption] | None:
    """A search typed in the Related field but not picked from (no JavaScript, or left
    there): the form comes back with its matches to tick, and nothing is saved."""
    q = request.POST.get("related_q", "").strip()
    if not q:
        return None
    chosen = {kind: _chosen(request.POST, kind) for kind in RELATED_KINDS}
    candidates = _matches(request.user, q, chosen=chosen)
    if candidates:
        errors["related"] = [f"Tick the matches for “{q}” you meant, or clear the search box."]
    else:
        errors["related"] = [f"Nothing matches “{q}”; change or clear the search box."]
    return candidates


@page
@require_http_methods(["GET", "POST"])
def task_create(request: HttpRequest) -> HttpResponse:
    """A new task; ``?contact=<id>`` / ``?organization=<id>`` relate it from the start
    (the "Follow-up task" link of a contact page)."""
    policy.require(request.user, "tasks.add")
    zone = user_zone(request.user)
    if request.method == "POST":
        data, errors = _form_data(request.POST, zone)
        candidates = _related_search(request, errors)
        if not errors:
            try:
                task = services.task_create(actor=request.user, data=data)
            except InvalidInput as exc:
                errors = _errors_of(exc)
            else:
                messages.success(request, f"Task “{task.title}” created.")
                back = request.POST.get("next", "")
                return redirect(
                    back if back.startswith("/") and not back.startswith("//") else "activity:tasks"
                )
        context = _form_context(request, None, _posted_values(request), errors, candidates)
        context["next"] = request.POST.get("next", "")
        return render(request, "activity/tasks/task_form.html", context, status=422)
    initial = services.task_form_initial(
        contact_id=request.GET.get("contact"), organization_id=request.GET.get("organization")
    )
    values: dict[str, Any] = {
        "kind": request.GET.get("kind", "todo"),
        "priority": "2",
        "assignee": request.user.get_username(),
        "contact_ids": [str(c) for c in initial["contact_ids"]],
        "organization_ids": [str(o) for o in initial["organization_ids"]],
    }
    context = _form_context(request, None, values, {})
    if initial["contact_ids"]:
        context["next"] = reverse("contacts:detail", args=[initial["contact_ids"][0]])
    return render(request, "activity/tasks/task_form.html", context)


@page
@require_http_methods(["GET", "POST"])
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get(actor=request.user, task_id=pk)
    zone = user_zone(request.user)
    if request.method == "POST":
        data, errors = _form_data(request.POST, zone)
        candidates = _related_search(request, errors)
        if request.POST.get("status"):
            data["status"] = request.POST["status"]
        version = request.POST.get("version", "")
        if not errors:
            try:
                services.task_update(
                    actor=request.user,
                    task=task,
                    data=data,
                    expected_version=int(version) if version.isdecimal() else None,
                )
            except InvalidInput as exc:
                errors = _errors_of(exc)
            except Conflict as exc:
                errors = {"version": [f"{exc} Nothing was saved; reload to see the change."]}
            else:
                messages.success(request, f"Task “{data['title'].strip()}” saved.")
                return redirect("activity:tasks")
        context = _form_context(request, task, _posted_values(request), errors, candidates)
        return render(request, "activity/tasks/task_form.html", context, status=422)
    context = _form_context(request, task, _values_of(task, zone), {})
    return render(request, "activity/tasks/task_form.html", context)


@page
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete from the list: htmx gets the row back, done, with "Log the call" for a
    call task; without JavaScript a call task goes straight to logging the call."""
    task = Task.objects.get(pk=pk)
    done = services.task_complete(actor=request.user, task=task)
    if is_htmx(request):
        row = selectors.task_get(actor=request.user, task_id=pk)
        context = {"t": row, "completion": done, "zone": user_zone(request.user)}
        return render(request, "activity/tasks/_task_row.html", context)
    if done.log_call_url:
        return redirect(done.log_call_url)
    messages.success(request, f"Done: {task.title}.")
    return redirect("activity:tasks")


@page
@require_POST
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    task = Task.objects.get(pk=pk)
    services.task_reopen(actor=request.user, task=task)
    if is_htmx(request):
        row = selectors.task_get(actor=request.user, task_id=pk)
        return render(
            request, "activity/tasks/_task_row.html", {"t": row, "zone": user_zone(request.user)}
        )
    messages.success(request, f"Reopened: {task.title}.")
    return redirect("activity:tasks")


@page
@require_POST
def task_delete(request: HttpRequest, pk: int) -> HttpResponse:
    task = Task.objects.get(pk=pk)
    services.task_delete(actor=request.user, task=task)
    messages.success(request, f"Task “{task.title}” deleted.")
    return redirect("activity:tasks")
