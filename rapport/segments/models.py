"""Segments (saved queries whose members change with the data) and lists (contacts
added and removed by hand, from a search, an import or the API).

Segments and lists share one namespace of names (``in:NAME`` in a query finds either).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.models import Contact
from rapport.core.models import BackgroundJob, TimeStamped


class Segment(TimeStamped):
    name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=100, unique=True, editable=False)
    description = models.TextField(blank=True)
    query = models.TextField()  # the canonical text (``query.render``)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared = models.BooleanField(default=True)
    last_count = models.PositiveIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    # set when a contact changed since the members were last recorded
    stale = models.BooleanField(default=True)

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class ContactList(TimeStamped):
    name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=100, unique=True, editable=False)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared = models.BooleanField(default=True)
    contacts = models.ManyToManyField(Contact, through="ListMember", related_name="+")

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class ListMember(models.Model):
    list = models.ForeignKey(ContactList, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["list", "contact"], name="segments_list_member")
        ]
        indexes = [models.Index(fields=["contact", "list"], name="segments_member_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.list_id}"


class SegmentMember(models.Model):
    """One stay of a contact in a segment: when it entered, and when it left (open while
    it is a member). The history of who entered and left, and when."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="stays")
    contact_id = models.BigIntegerField()
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact_id"],
                condition=models.Q(left_at__isnull=True),
                name="segments_one_open_stay",
            )
        ]
        indexes = [
            models.Index(fields=["segment", "entered_at"], name="segments_stay_entered"),
            models.Index(fields=["segment", "left_at"], name="segments_stay_left"),
            models.Index(fields=["contact_id"], name="segments_stay_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id} from {self.entered_at:%Y-%m-%d}"


class Order(TimeStamped):
    """A purchase (or any transaction) by a contact or an organization: when, how much, in
    which currency, its status, what was bought. ``external_id`` (the shop's own order
    number) makes writes idempotent: the same id again changes that order."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"
        REFUNDED = "refunded", "Refunded"

    # what counts as revenue: value, frequency and recency are computed from these
    COUNTED = ("paid", "fulfilled")

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    organization = models.ForeignKey(
        "contacts.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    ordered_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAID)
    products = models.JSONField(default=list, blank=True)
    categories = models.JSONField(default=list, blank=True)
    # "|p:product|c:category|", folded: what queries match on every database
    labels = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        indexes = [
            # a contact's orders by time, with what counting them and their value reads
            # (status, currency, amount): order counts in segments and customer value never
            # visit the table
            models.Index(
                fields=["contact", "ordered_at", "status", "currency", "amount"],
                name="order_contact_value",
            ),
            models.Index(fields=["organization", "ordered_at"], name="order_org_time"),
            models.Index(fields=["ordered_at"], name="order_time"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id or self.pk}: {self.amount} {self.currency}"


class CustomerValue(models.Model):
    """What a contact's orders say, computed in the background (``services.rfm_refresh``):
    counts, revenue, first and last order, and the RFM scores (1–5) and group. Then, from
    the latest fitted ``ValueModel`` (``services.value_model_fit``), what they predict:
    expected orders and value over the model's horizon, and the chance the contact is
    still a customer; empty until a fit succeeds, and emptied when one is refused."""

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    orders = models.PositiveIntegerField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)
    first_order_at = models.DateTimeField()
    last_order_at = models.DateTimeField()
    recency = models.PositiveSmallIntegerField()
    frequency = models.PositiveSmallIntegerField()
    monetary = models.PositiveSmallIntegerField()
    group = models.CharField(max_length=24)
    computed_at = models.DateTimeField()
    expected_orders = models.FloatField(null=True, blank=True)
    p_alive = models.FloatField(null=True, blank=True)
    predicted_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["group"], name="customer_value_group")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.recency}{self.frequency}{self.monetary} {self.group}"

    @property
    def group_label(self) -> str:
        return self.group.replace("_", " ").capitalize().replace("Cant", "Can't")


class ValueModel(models.Model):
    """One fit of the predicted-value models over every customer
    (``services.value_model_fit``): when, on how many customers, over which horizon,
    whether it was fitted or refused and why, the parameters, and a summary of what it
    predicted. The latest row is the one in force; older ones are kept for comparison
    (the newest 100)."""

    class Status(models.TextChoices):
        FITTED = "fitted", "Fitted"
        TOO_THIN = "too_thin", "Too little data"
        NOT_CONVERGED = "not_converged", "Did not converge"

    fitted_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.TextField(blank=True)
    customers = models.PositiveIntegerField()
    repeat_customers = models.PositiveIntegerField()
    horizon_months = models.PositiveSmallIntegerField()
    annual_discount = models.FloatField(default=0.0)
    # {"bgnbd": {r, alpha, a, b, log_likelihood}, "gamma_gamma": {p, q, gamma, …}, "time_unit": "week"}
    params = models.JSONField(default=dict)
    # spend and frequency of the repeat customers: Gamma-Gamma assumes near 0
    correlation = models.FloatField(null=True, blank=True)
    # totals and quantiles of what was predicted
    summary = models.JSONField(default=dict)
    seconds = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-fitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.fitted_at:%Y-%m-%d %H:%M}: {self.status}"


class OrderImport(BackgroundJob):
    """One file of orders imported: its columns and which order field each one fills,
    how far it got, which orders it created and what the ones it changed held before, so
    the import can be undone. A file uploaded on the page is kept (``file``) and read by
    the worker; one given to the command line is read where it lies."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Waiting for its columns"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    file = models.FileField(upload_to="order-imports/%Y/%m/", blank=True)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)  # header -> order field ("" skips)
    counts = models.JSONField(default=dict, blank=True)  # created, changed, unchanged, failed
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    created_ids = models.JSONField(default=list)
    previous = models.JSONField(default=dict)  # order id -> its fields before
    errors = models.JSONField(default=list)
    undone_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d})"


class Score(TimeStamped):
    """A score admins define (a lead score, an engagement score): rules that give each
    contact points, computed in the background into ``ContactScore`` rows and asked for
    in queries as ``score.KEY``. ``key`` never changes once made (queries use it);
    ``stale`` is set when the rules change, so the worker computes it again soon;
    ``computed_at`` is when it was last computed, or tried: ``problem`` then says why it
    could not be (a rule's query no longer runs) and the values are from before."""

    name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=100, unique=True, editable=False)
    key = models.CharField(max_length=40, unique=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    computed_at = models.DateTimeField(null=True, blank=True)
    stale = models.BooleanField(default=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["name_key"]

    def __str__(self) -> str:
        return self.name


class ScoreRule(models.Model):
    """One rule of a score: ``points`` for a contact that matches a query (``match``),
    per interaction of a kind in a window, decayed by age (``activity``), or for being
    contacted or ordering lately, decayed by the days since (``recency``). What each
    kind takes is in ``parameters`` (see ``services.scores``)."""

    class Kind(models.TextChoices):
        MATCH = "match", "Matches a query"
        ACTIVITY = "activity", "Per interaction"
        RECENCY = "recency", "Recently contacted or ordered"

    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    points = models.IntegerField()
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["score", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["score", "position"], name="segments_score_rule_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score_id} #{self.position}: {self.summary}"

    @property
    def summary(self) -> str:
        """The rule in words: "+20 when tag:vip", "+5 per inbound call in the last 90
        days, halved every 30 days, at most 50"."""
        p = self.parameters
        points = f"{self.points:+d}"
        if self.kind == self.Kind.MATCH:
            return f"{points} when {p.get('query', '')}"
        halved = f", halved every {p['half_life_days']:g} days" if p.get("half_life_days") else ""
        if self.kind == self.Kind.ACTIVITY:
            direction = {"inbound": "inbound ", "outbound": "outbound ", "internal": "internal "}
            what = p.get("interaction") or "interaction"
            cap = f", at most {p['cap']:,} in all" if p.get("cap") else ""
            return (
                f"{points} per {direction.get(p.get('direction', ''), '')}{what} in the last "
                f"{p.get('window_days', 90)} days{halved}{cap}"
            )
        what = "ordering" if p.get("of") == "ordered" else "being contacted"
        within = f", if within {p['within_days']} days" if p.get("within_days") else ""
        return f"{points} for {what} lately{halved}{within}"


class ContactScore(models.Model):
    """A contact's value of one score, as last computed. A contact without a row has 0
    (rows are kept only for values other than 0); ``computed_at`` is when this value was
    written."""

    # the unique (contact, score) index serves lookups by contact: no second index
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+", db_index=False)
    score = models.ForeignKey(Score, on_delete=models.CASCADE, related_name="values")
    value = models.IntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "score"], name="segments_contact_score")
        ]
        indexes = [models.Index(fields=["score", "value"], name="segments_score_value")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.value} ({self.score_id})"
