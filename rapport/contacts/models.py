"""People, organizations, who works where, tags and admin-defined custom fields."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import BackgroundJob, TimeStamped


class Tag(models.Model):
    """A coloured label shared by contacts and organizations; names are unique ignoring case."""

    name = models.CharField(max_length=60)
    name_key = models.CharField(max_length=60, unique=True, editable=False)
    color = models.CharField(max_length=7, default="#64748b")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(models.Model):
    """A field admins add to contacts or organizations; values live in ``custom_fields`` JSON."""

    class Target(models.TextChoices):
        CONTACT = "contact", "Contacts"
        ORGANIZATION = "organization", "Organizations"

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        LONG_TEXT = "long_text", "Long text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes / no"
        CHOICE = "choice", "Single choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        URL = "url", "URL"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    target = models.CharField(max_length=16, choices=Target.choices)
    key = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=16, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True)
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["target", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["target", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_target_display()})"


class Organization(TimeStamped):
    """A company or other body. ``parent`` forms a hierarchy of any depth without cycles."""

    class SizeBand(models.TextChoices):
        MICRO = "1-9", "1–9"
        SMALL = "10-49", "10–49"
        MEDIUM = "50-249", "50–249"
        LARGE = "250-999", "250–999"
        ENTERPRISE = "1000+", "1,000+"

    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    domains = models.JSONField(default=list, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    size_band = models.CharField(max_length=10, choices=SizeBand.choices, blank=True)
    website = models.URLField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="organizations")
    custom_fields = models.JSONField(default=dict, blank=True)
    sort_name = models.CharField(max_length=200, db_index=True, editable=False)
    search_doc = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["sort_name", "id"]
        indexes = [
            models.Index(fields=["sort_name", "id"], name="org_sort_name_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStamped):
    """A person. ``display_name``, ``sort_name`` and ``search_doc`` are derived by services."""

    class Lifecycle(models.TextChoices):
        LEAD = "lead", "Lead"
        PROSPECT = "prospect", "Prospect"
        CUSTOMER = "customer", "Customer"
        FORMER_CUSTOMER = "former_customer", "Former customer"
        PARTNER = "partner", "Partner"
        OTHER = "other", "Other"

    prefix = models.CharField(max_length=30, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    suffix = models.CharField(max_length=30, blank=True)
    nickname = models.CharField(max_length=100, blank=True)
    display_name = models.CharField(max_length=300)
    birthday = models.DateField(null=True, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=16, blank=True)
    notes = models.TextField(blank=True)
    photo = models.FileField(upload_to="photos/%Y/%m/", blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    lifecycle_stage = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.LEAD, db_index=True
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    custom_fields = models.JSONField(default=dict, blank=True)
    sort_name = models.CharField(max_length=300, editable=False)
    family_key = models.CharField(max_length=100, blank=True, editable=False)
    search_doc = models.TextField(blank=True, editable=False)
    # Kept by the activity area (through core.hooks), shown and sorted on in lists:
    # the last two-way interaction, the next open task and, for a contact with a
    # keep-in-touch cadence, the day by which someone should reach out.
    last_contacted_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_step_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_step = models.CharField(max_length=300, null=True, blank=True, editable=False)
    reach_out_by = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["sort_name", "id"]
        indexes = [
            models.Index(fields=["last_contacted_at", "id"], name="contact_last_contacted"),
            models.Index(fields=["next_step_at", "id"], name="contact_next_step"),
            models.Index(fields=["reach_out_by", "id"], name="contact_reach_out_by"),
            models.Index(fields=["sort_name", "id"], name="contact_sort_name_id"),
            models.Index(fields=["family_key", "sort_name"], name="contact_family_key"),
            models.Index(fields=["created_at", "id"], name="contact_created_id"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_id"),
            models.Index(fields=["owner", "sort_name", "id"], name="contact_owner_sort"),
        ]

    def __str__(self) -> str:
        return self.display_name


class _ContactPoint(models.Model):
    label = models.CharField(max_length=40, blank=True)
    primary = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]


class Email(_ContactPoint):
    """An email address of a contact; stored normalised (domain lower-cased)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    address = models.CharField(max_length=254)
    address_key = models.CharField(max_length=254, db_index=True, editable=False)

    class Meta(_ContactPoint.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "address_key"], name="email_unique_per_contact"
            )
        ]

    def __str__(self) -> str:
        return self.address


def _one_owner() -> Q:
    return Q(contact__isnull=False, organization__isnull=True) | Q(
        contact__isnull=True, organization__isnull=False
    )


class Phone(_ContactPoint):
    """A phone number of a contact or an organization: E.164 plus the text as typed."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="phones"
    )
    number = models.CharField(max_length=64)
    e164 = models.CharField(max_length=20, db_index=True)
    extension = models.CharField(max_length=12, blank=True)

    class Meta(_ContactPoint.Meta):
        constraints = [models.CheckConstraint(condition=_one_owner(), name="phone_one_owner")]

    def __str__(self) -> str:
        return self.e164 + (f" ext. {self.extension}" if self.extension else "")


class Address(_ContactPoint):
    """A structured postal address; ``country`` is an ISO 3166-1 alpha-2 code."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    street = models.CharField(max_length=300, blank=True)
    locality = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta(_ContactPoint.Meta):
        constraints = [models.CheckConstraint(condition=_one_owner(), name="address_one_owner")]
        indexes = [
            # who has an address in a country, read from the index alone (segments,
            # list filters): at a million contacts a country's addresses were read
            # from the table, 100,000 rows for DE
            models.Index(fields=["country", "contact"], name="address_country_contact"),
        ]

    def __str__(self) -> str:
        return ", ".join(p for p in [self.street, self.locality, self.postcode, self.country] if p)


class WebLink(_ContactPoint):
    """A website or social profile of a contact (``kind``; ``label`` names the network)."""

    class Kind(models.TextChoices):
        WEBSITE = "website", "Website"
        SOCIAL = "social", "Social profile"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WEBSITE)
    url = models.URLField(max_length=500)

    def __str__(self) -> str:
        return self.url


class ExternalId(models.Model):
    """The id a contact has in another system (an old CRM, a phone export), one per source."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=100)
    value = models.CharField(max_length=200)

    class Meta:
        ordering = ["source", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "value"], name="external_id_unique"),
            models.UniqueConstraint(
                fields=["contact", "source"], name="external_id_one_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.value}"


class Affiliation(TimeStamped):
    """A person's role at an organization over a period, with reporting line and buying role."""

    class BuyingRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", "Decision maker"
        ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
        CHAMPION = "champion", "Champion"
        INFLUENCER = "influencer", "Influencer"
        USER = "user", "User"
        BLOCKER = "blocker", "Blocker"
        GATEKEEPER = "gatekeeper", "Gatekeeper"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="affiliations")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="affiliations"
    )
    title = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=100, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    is_current = models.BooleanField(default=True)
    reports_to = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    buying_role = models.CharField(max_length=20, choices=BuyingRole.choices, blank=True)

    class Meta:
        ordering = ["-is_current", "-start_date", "id"]
        indexes = [
            models.Index(fields=["organization", "is_current"], name="affiliation_org_current"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.organization_id}"


class ListColumns(models.Model):
    """The columns one user chose to see on one list (contacts or organizations).

    ``columns`` holds column keys in display order: built-in ones ("email", "stage"…)
    and ``custom.<key>`` for custom fields; rapport/contacts/columns.py knows them.
    """

    class ListName(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        ORGANIZATIONS = "organizations", "Organizations"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_columns"
    )
    list_name = models.CharField(max_length=20, choices=ListName.choices)
    columns = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name"], name="one_column_choice_per_list")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.list_name}"


class SavedView(TimeStamped):
    """A named way of looking at a list: its search, filters and sort (the list's query
    string) and its columns; private to its owner or shared with everyone."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="saved_views"
    )
    list_name = models.CharField(max_length=20, choices=ListColumns.ListName.choices)
    name = models.CharField(max_length=100)
    query = models.TextField(blank=True)  # q=…&tag=…&sort=…
    columns = models.JSONField(default=list)
    shared = models.BooleanField(default=False)

    class Meta:
        ordering = ["list_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "list_name", "name"], name="saved_view_owner_list_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.list_name}: {self.name}"


class BulkJob(BackgroundJob):
    """One bulk action on selected contacts or organizations (``kind``): what, on which
    ids, by whom, how far it got.

    While it runs, ``heartbeat_at`` is refreshed (``core.jobs``); one whose worker died
    is marked failed by ``rapport worker``, saying how far it got.

    ``ids`` is the selection as it was when the action started (a filter is resolved
    then), so the action covers what the user saw, not what matches later. ``failures``
    lists ``{"id", "name", "message"}`` for each record the action could not change.
    """

    class Action(models.TextChoices):
        TAG = "tag", "Add tag"
        UNTAG = "untag", "Remove tag"
        SET_OWNER = "set_owner", "Set owner"
        SET_STAGE = "set_stage", "Set lifecycle stage"
        DELETE = "delete", "Delete"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        ORGANIZATIONS = "organizations", "Organizations"

    # The actions each kind has (organizations have no lifecycle stage).
    ACTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        Kind.CONTACTS: ("tag", "untag", "set_owner", "set_stage", "delete"),
        Kind.ORGANIZATIONS: ("tag", "untag", "set_owner", "delete"),
    }

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CONTACTS)
    action = models.CharField(max_length=20, choices=Action.choices)
    value = models.CharField(max_length=200, blank=True)
    ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    # How many records could not be changed; ``failures`` keeps the first FAILURES_KEPT
    # of them with their reasons, so a job where everything fails stays small.
    failed = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list)
    error = models.TextField(blank=True)
    via = models.CharField(max_length=16, default="ui")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk {self.action} {self.pk} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def value_display(self) -> str:
        """The value as people read it: a stage's label, "nobody" for no owner."""
        if self.action == self.Action.SET_STAGE and self.value in Contact.Lifecycle.values:
            return str(Contact.Lifecycle(self.value).label)
        if self.action == self.Action.SET_OWNER and not self.value:
            return "nobody"
        return self.value

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
