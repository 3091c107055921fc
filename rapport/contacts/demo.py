"""Demo data: realistic people and organizations from several countries, loaded in bulk.

``demo_load`` writes straight to the tables in large batches (COPY on PostgreSQL,
``executemany`` on SQLite) so a million contacts load in minutes with constant memory.
Every derived column is computed by the same functions the services use
(``normalize``, ``search_doc.build``, the contact sort key), so a generated record is
indistinguishable from one typed in through the UI.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import multiprocessing
import random
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from rapport.access.models import ChangeRecord, User
from rapport.access.services import diff
from rapport.contacts import normalize
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    Email,
    Organization,
    Phone,
    Tag,
    WebLink,
)
from rapport.contacts.services import search_doc
from rapport.contacts.services.contacts import _sort_key, contact_snapshot
from rapport.contacts.services.organizations import organization_snapshot
from rapport.core import bulk, hooks
from rapport.core.progress import progress_bar
from rapport.core.search import install_sql
from rapport.core.text import fold


@dataclass(frozen=True)
class Locale:
    """How people of one country are named, reached and addressed."""

    code: str
    country: str
    language: str
    time_zones: tuple[str, ...]
    free_mail: tuple[str, ...]
    tld: str
    weight: int


LOCALES = (
    Locale(
        "en_US",
        "US",
        "en",
        ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
        ("gmail.com", "yahoo.com", "outlook.com", "icloud.com"),
        "com",
        34,
    ),
    Locale(
        "en_GB",
        "GB",
        "en",
        ("Europe/London",),
        ("gmail.com", "outlook.com", "btinternet.com"),
        "co.uk",
        12,
    ),
    Locale(
        "de_DE",
        "DE",
        "de",
        ("Europe/Berlin",),
        ("gmx.de", "web.de", "gmail.com", "t-online.de"),
        "de",
        12,
    ),
    Locale(
        "fr_FR",
        "FR",
        "fr",
        ("Europe/Paris",),
        ("orange.fr", "free.fr", "gmail.com", "laposte.net"),
        "fr",
        10,
    ),
    Locale(
        "es_ES", "ES", "es", ("Europe/Madrid",), ("gmail.com", "hotmail.es", "yahoo.es"), "es", 8
    ),
    Locale(
        "it_IT", "IT", "it", ("Europe/Rome",), ("libero.it", "gmail.com", "virgilio.it"), "it", 6
    ),
    Locale(
        "nl_NL", "NL", "nl", ("Europe/Amsterdam",), ("ziggo.nl", "gmail.com", "kpnmail.nl"), "nl", 5
    ),
    Locale(
        "pt_BR",
        "BR",
        "pt-BR",
        ("America/Sao_Paulo",),
        ("gmail.com", "uol.com.br", "bol.com.br"),
        "com.br",
        7,
    ),
    Locale(
        "ja_JP",
        "JP",
        "ja",
        ("Asia/Tokyo",),
        ("yahoo.co.jp", "gmail.com", "docomo.ne.jp"),
        "co.jp",
        6,
    ),
)

TAGS = (
    ("VIP", "#dc2626"),
    ("Newsletter", "#2563eb"),
    ("Conference 2024", "#7c3aed"),
    ("Partner", "#059669"),
    ("Investor", "#d97706"),
    ("Press", "#db2777"),
    ("Churn risk", "#b91c1c"),
    ("Referral", "#0d9488"),
    ("Beta tester", "#4f46e5"),
    ("Key account", "#ca8a04"),
    ("Web Summit", "#0891b2"),
    ("Follow up", "#64748b"),
)
INDUSTRIES = (
    "Software",
    "Financial services",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Logistics",
    "Telecommunications",
    "Energy",
    "Consulting",
    "Education",
    "Media",
    "Real estate",
    "Automotive",
    "Hospitality",
    "Biotechnology",
    "Insurance",
    "Construction",
    "Agriculture",
)
DEPARTMENTS = (
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Operations",
    "Procurement",
    "Human Resources",
    "Legal",
    "Customer Success",
    "IT",
    "Product",
)
HEAD_TITLES = ("Chief Executive Officer", "Managing Director", "Founder & CEO", "President")
LEAD_TITLES = (
    "Chief Financial Officer",
    "Chief Technology Officer",
    "Chief Operating Officer",
    "VP Sales",
    "VP Marketing",
    "Head of Procurement",
    "Head of Engineering",
    "Director of Operations",
    "Head of IT",
    "General Counsel",
)
CHILD_SUFFIXES = ("Europe", "Labs", "Services", "Ventures", "International", "Digital", "Asia")
SOURCES = ("Website form", "Conference", "Referral", "Import", "LinkedIn", "Cold outreach", "")
STAGES = (
    ("lead", 35),
    ("prospect", 20),
    ("customer", 25),
    ("former_customer", 5),
    ("partner", 8),
    ("other", 7),
)
BUYING_ROLES = [r.value for r in Affiliation.BuyingRole]
KEEP_LEADERS = 12  # people per organization others may report to; bounds memory
HISTORY_LIMIT = 20_000  # above this many contacts no "create" history is recorded
# From this many contacts on, people are generated in a second process while this one
# writes, and the text search index is built once at the end instead of row by row.
BULK_FROM = 20_000
_ASCII = re.compile(r"[^a-z]")
_EPOCH = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)


@dataclass
class _Pools:
    """Names, places, companies and jobs drawn once per locale, then combined at random."""

    locale: Locale
    given: list[tuple[str, str]] = field(default_factory=list)  # (name, ascii)
    family: list[tuple[str, str]] = field(default_factory=list)
    places: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # street, city, region, postcode
    companies: list[tuple[str, str]] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)


def _ascii(text: str) -> str:
    return _ASCII.sub("", fold(text))


_LEGAL_FORMS = frozenset(
    [
        "ag",
        "co",
        "kg",
        "gmbh",
        "ohg",
        "ug",
        "kgaa",
        "llc",
        "inc",
        "ltd",
        "plc",
        "group",
        "and",
        "sons",
        "spa",
        "srl",
        "snc",
        "sas",
        "sa",
        "sarl",
        "sl",
        "sll",
        "slne",
        "bv",
        "nv",
        "cv",
        "vof",
        "e",
        "ltda",
        "me",
        "eireli",
        "s",
        "c",
        "hnos",
        "cia",
    ]
)


def _domain_label(company: str) -> str:
    """'Boucsein AG & Co. KG' -> 'boucsein'; 'Kennedy-Gray' -> 'kennedygray'."""
    words = [_ascii(w) for w in re.split(r"[\s,&./]+", company.split(",")[0])]
    kept = [w for w in words if len(w) > 1 and w not in _LEGAL_FORMS]
    return "".join(kept[:2])[:30] or "company"


_SIMPLE_LOCAL = re.compile(r"[a-z0-9]+([._][a-z0-9]+)*")


@functools.cache
def _mail_domain(domain: str) -> str:
    return normalize.email(f"check@{domain}").rsplit("@", 1)[1]


def _email(local: str, domain: str) -> str:
    """normalize.email's result; simple local parts skip the per-address validation."""
    if _SIMPLE_LOCAL.fullmatch(local):
        return f"{local}@{_mail_domain(domain)}"
    return normalize.email(f"{local}@{domain}")


def _pools(locale: Locale, seed: int, size: int) -> _Pools:
    fake = Faker(locale.code)
    fake.seed_instance(seed)
    pools = _Pools(locale)
    japanese = locale.code == "ja_JP"
    for _ in range(size):
        if japanese:
            g, _kana, g_roman = fake.first_name_pair()
            f, _kana, f_roman = fake.last_name_pair()
            pools.given.append((g, _ascii(g_roman) or "info"))
            pools.family.append((f, _ascii(f_roman) or "contact"))
            street = f"{fake.town()}{fake.chome()}{fake.ban()}{fake.gou()}"
            pools.places.append((street, fake.city(), fake.prefecture(), fake.zipcode()))
            pools.companies.append((fake.company(), f_roman.lower()))
        else:
            g, f = fake.first_name(), fake.last_name()
            pools.given.append((g, _ascii(g) or "info"))
            pools.family.append((f, _ascii(f) or "contact"))
            region = fake.administrative_unit()
            pools.places.append((fake.street_address(), fake.city(), region, fake.postcode()))
            company = fake.company()
            pools.companies.append((company, _domain_label(company)))
        pools.jobs.append(fake.job()[:200])
    pools.prefixes = ["Dr."] if japanese else [p for p in {fake.prefix() for _ in range(10)} if p]
    return pools


class _PhoneMaker:
    """Valid numbers per country: phonenumbers' example numbers with random trailing digits."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.cache: dict[tuple[str, int], list[str]] = {}

    def _prefixes(self, region: str, kind: int) -> list[str]:
        key = (region, kind)
        if key not in self.cache:
            example = phonenumbers.example_number_for_type(region, kind)
            national = phonenumbers.national_significant_number(example)
            found: set[str] = set()
            for _ in range(400):
                candidate = national[0] + "".join(
                    self.rng.choice("0123456789") for _ in range(len(national) - 1)
                )
                try:
                    number = phonenumbers.parse(candidate, region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
                    kind,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
                ):
                    found.add(candidate[:-4])
                if len(found) >= 40:
                    break
            self.cache[key] = sorted(found) or [national[:-4]]
        return self.cache[key]

    def make(self, region: str, *, mobile: bool, international: bool) -> tuple[str, str]:
        """(number as typed, E.164), checked by the same normalize.phone the services use."""
        kind = (
            phonenumbers.PhoneNumberType.MOBILE
            if mobile
            else phonenumbers.PhoneNumberType.FIXED_LINE
        )
        code = phonenumbers.country_code_for_region(region)
        fmt = (
            phonenumbers.PhoneNumberFormat.INTERNATIONAL
            if international
            else phonenumbers.PhoneNumberFormat.NATIONAL
        )
        for _ in range(20):
            national = (
                self.rng.choice(self._prefixes(region, kind)) + f"{self.rng.randrange(10_000):04d}"
            )
            number = phonenumbers.PhoneNumber(
                country_code=code,
                national_number=int(national),
                italian_leading_zero=national.startswith("0") or None,
            )
            typed = phonenumbers.format_number(number, fmt)
            try:
                parsed = normalize.phone(typed, region=region)
            except ValueError:
                continue
            return typed, parsed.e164
        raise RuntimeError(f"Could not make a valid phone number for {region}.")


class _Writer:
    """Appends rows to a table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.ops = connection.ops

    def when(self, value: dt.datetime) -> Any:
        return value if self.postgres else self.ops.adapt_datetimefield_value(value)

    def day(self, value: dt.date | None) -> Any:
        return value if self.postgres or value is None else value.isoformat()

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        bulk.write_rows(table, columns, rows)


@dataclass
class DemoResult:
    contacts: int
    organizations: int
    affiliations: int


def _next_id(model: type) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
        return int(cursor.fetchone()[0]) + 1


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Callable[[], Any]:
    values = [v for v, _ in pairs]
    cumulative = []
    total = 0
    for _, w in pairs:
        total += w
        cumulative.append(total)
    return lambda: rng.choices(values, cum_weights=cumulative)[0]


def demo_load(
    *,
    contacts: int,
    organizations: int,
    realistic: bool = False,
    seed: int | None = None,
    progress: bool = True,
    batch_size: int = 5_000,
) -> DemoResult:
    """Add ``organizations`` organizations and ``contacts`` people with everything around them.

    ``realistic`` adds notes, social profiles and a "create" history entry per record
    (history only up to HISTORY_LIMIT contacts). Existing rows are kept; ids continue
    after the highest present. Owners are picked among existing active users.
    """
    rng = random.Random(seed)
    pool_seed = rng.randrange(1 << 30)
    pool_size = 1_500 if contacts >= 5_000 else max(60, min(400, contacts))
    pools = [_pools(loc, pool_seed + i, pool_size) for i, loc in enumerate(LOCALES)]
    pick_pools = _weighted(rng, [(p, p.locale.weight) for p in pools])
    pick_stage = _weighted(rng, STAGES)
    phones = _PhoneMaker(rng)
    writer = _Writer()
    now = timezone.now()
    span = (now - _EPOCH).total_seconds()
    owners = list(User.objects.filter(is_active=True).values_list("id", flat=True))
    tags = _ensure_tags()
    tag_names = {t.pk: t.name for t in tags}
    tag_order = {t.pk: t.name_key for t in tags}
    tag_ids = [t.pk for t in tags]

    def stamp() -> tuple[Any, Any]:
        created = _EPOCH + dt.timedelta(seconds=rng.random() * span)
        updated = created + dt.timedelta(seconds=rng.random() * (now - created).total_seconds())
        return writer.when(created), writer.when(updated)

    def pick_tags(chance: float) -> list[int]:
        if rng.random() >= chance:
            return []
        chosen = rng.sample(tag_ids, rng.choice((1, 1, 1, 2, 2, 3)))
        return sorted(chosen, key=tag_order.__getitem__)

    # Organizations: few enough to keep their names and domains in memory.
    org_first = _next_id(Organization)
    orgs: list[tuple[int, str, str, _Pools]] = []  # id, name, domain, pools
    used_domains: set[str] = set(
        d for ds in Organization.objects.values_list("domains", flat=True) for d in ds
    )
    org_rows, org_phone_rows, org_address_rows, org_tag_rows = [], [], [], []
    for i in range(organizations):
        org_id = org_first + i
        parent = None
        if i >= 5 and rng.random() < 0.08:
            parent_id, parent_name, _, p = orgs[rng.randrange(len(orgs))]
            name = f"{parent_name} {rng.choice(CHILD_SUFFIXES)}"[:200]
            parent = parent_id
            slug = _domain_label(name)
        else:
            p = pick_pools()
            name, slug = rng.choice(p.companies)
        base = f"{slug or 'org'}.{p.locale.tld}"
        domain = base
        n = 1
        while domain in used_domains:
            n += 1
            domain = f"{slug}{n}.{p.locale.tld}"
        used_domains.add(domain)
        industry = rng.choice(INDUSTRIES)
        rank = i / max(organizations, 1)
        # Contacts favour low ids (see _person), so early organizations are the big ones.
        size = ("1000+", "250-999", "50-249", "10-49", "1-9")[
            min(4, int((rank + rng.random() / 4) * 5))
        ]
        street, city, region, postcode = rng.choice(p.places)
        typed, e164 = phones.make(p.locale.country, mobile=False, international=False)
        org_tags = pick_tags(0.3)
        doc = search_doc.build(
            names=[name],
            emails=[f"@{domain}"],
            phones=[e164],
            places=[city],
            tags=[tag_names[t] for t in org_tags],
            extra=[industry],
        )
        created, updated = stamp()
        org_rows.append(
            (
                org_id,
                name,
                "",
                json.dumps([domain]),
                industry,
                size,
                f"https://www.{domain}",
                "",
                parent,
                rng.choice(owners) if owners else None,
                "{}",
                fold(name),
                doc,
                created,
                updated,
                1,
            )
        )
        org_phone_rows.append((None, org_id, typed, e164, "", "Main", True, 0))
        org_address_rows.append(
            (None, org_id, street, city, region, postcode, p.locale.country, "Head office", True, 0)
        )
        org_tag_rows += [(org_id, t) for t in org_tags]
        orgs.append((org_id, name, domain, p))
    with transaction.atomic():
        writer.write(
            Organization._meta.db_table,
            (
                "id",
                "name",
                "legal_name",
                "domains",
                "industry",
                "size_band",
                "website",
                "notes",
                "parent_id",
                "owner_id",
                "custom_fields",
                "sort_name",
                "search_doc",
                "created_at",
                "updated_at",
                "version",
            ),
            org_rows,
        )
        _write_points(writer, org_phone_rows, org_address_rows)
        writer.write(
            Organization.tags.through._meta.db_table, ("organization_id", "tag_id"), org_tag_rows
        )
    del org_rows, org_phone_rows, org_address_rows, org_tag_rows

    org_refs = [(org_id, name, domain) for org_id, name, domain, _ in orgs]
    orgs_by_locale: dict[str, list[tuple[int, str, str]]] = {}
    for org_id, name, domain, p in orgs:
        orgs_by_locale.setdefault(p.locale.code, []).append((org_id, name, domain))
    contact_first = _next_id(Contact)
    leaders: dict[int, list[int]] = {}

    def batches() -> Iterator[_Batch]:
        for start in range(0, contacts, batch_size):
            batch = _Batch()
            for offset in range(min(batch_size, contacts - start)):
                _person(
                    contact_first + start + offset,
                    batch,
                    rng=rng,
                    pools=pick_pools(),
                    stage=pick_stage(),
                    orgs=org_refs,
                    orgs_by_locale=orgs_by_locale,
                    leaders=leaders,
                    phones=phones,
                    owners=owners,
                    tags=pick_tags(0.35),
                    tag_names=tag_names,
                    stamp=stamp,
                    realistic=realistic,
                    writer=writer,
                )
            yield batch

    affiliations = 0
    bulk = contacts >= BULK_FROM
    bar = progress_bar(
        total=contacts, unit=" contacts", file=sys.stderr, disable=not progress, smoothing=0.05
    )
    _before_bulk_load(bulk)
    try:
        for batch in _in_background(batches) if bulk else batches():
            with transaction.atomic():
                batch.write(writer)
            affiliations += len(batch.affiliations)
            bar.update(len(batch.contacts))
    finally:
        bar.close()
        _after_bulk_load(bulk, progress)
    if realistic and contacts <= HISTORY_LIMIT:
        _record_history(contact_first, org_first)
        hooks.demo_loaded(contact_first)
    from rapport.duplicates.services import match_keys_build, organization_keys_refresh

    match_keys_build(after_id=contact_first - 1, progress=progress)
    organization_keys_refresh(
        organization_ids=Organization.objects.filter(pk__gte=org_first).values_list("pk", flat=True)
    )
    return DemoResult(contacts=contacts, organizations=organizations, affiliations=affiliations)


def _in_background(make: Callable[[], Iterator[_Batch]]) -> Iterator[_Batch]:
    """Run the ``make`` generator in a forked process and yield what it produces.

    The child never touches the database: everything it needs was read before the fork,
    and it leaves through os._exit, so the parent's connection stays intact.
    """
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue(maxsize=4)

    def produce() -> None:
        try:
            for batch in make():
                queue.put(batch)
            queue.put(None)
        except BaseException:
            queue.put(traceback.format_exc())

    child = context.Process(target=produce, daemon=True)
    child.start()
    try:
        while True:
            try:
                item = queue.get(timeout=5)
            except Empty:
                if not child.is_alive():
                    raise RuntimeError("The demo data generator stopped unexpectedly.") from None
                continue
            if item is None:
                break
            if isinstance(item, str):
                raise RuntimeError(f"The demo data generator failed:\n{item}")
            yield item
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def _before_bulk_load(bulk: bool) -> None:
    """Drop the contact text-search index so a large load need not update it per row."""
    if not bulk:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS contacts_contact_ai")
        elif connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS contacts_contact_doc_trgm")


def _after_bulk_load(bulk: bool, progress: bool) -> None:
    """Put the search structures back (rebuilt from every row), reset sequences, analyze."""
    with connection.cursor() as cursor:
        if bulk:
            if progress:
                print("Building the search index…", file=sys.stderr, flush=True)
            if connection.vendor == "postgresql":
                # Inside an outer transaction, pending foreign-key checks block CREATE INDEX.
                if not connection.get_autocommit():
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET maintenance_work_mem = '512MB'")
            for statement in install_sql(connection.vendor):
                cursor.execute(statement)
        if connection.vendor == "postgresql":
            for statement in connection.ops.sequence_reset_sql(no_style(), [Contact, Organization]):
                cursor.execute(statement)
        if bulk and connection.vendor == "postgresql" and connection.get_autocommit():
            # Sets the visibility map too, so name lookups can be answered from the index.
            cursor.execute("VACUUM (ANALYZE) contacts_contact")
        cursor.execute("ANALYZE")


def _ensure_tags() -> list[Tag]:
    for name, color in TAGS:
        Tag.objects.get_or_create(name_key=fold(name), defaults={"name": name, "color": color})
    return list(Tag.objects.filter(name_key__in=[fold(n) for n, _ in TAGS]))


PHONE_COLUMNS = (
    "contact_id",
    "organization_id",
    "number",
    "e164",
    "extension",
    "label",
    "primary",
    "position",
)
ADDRESS_COLUMNS = (
    "contact_id",
    "organization_id",
    "street",
    "locality",
    "region",
    "postcode",
    "country",
    "label",
    "primary",
    "position",
)
CONTACT_COLUMNS = (
    "id",
    "prefix",
    "given_name",
    "middle_name",
    "family_name",
    "suffix",
    "nickname",
    "display_name",
    "birthday",
    "job_title",
    "time_zone",
    "language",
    "notes",
    "photo",
    "owner_id",
    "source",
    "lifecycle_stage",
    "custom_fields",
    "sort_name",
    "family_key",
    "search_doc",
    "created_at",
    "updated_at",
    "version",
)
AFFILIATION_COLUMNS = (
    "contact_id",
    "organization_id",
    "title",
    "department",
    "start_date",
    "end_date",
    "is_current",
    "reports_to_id",
    "buying_role",
    "created_at",
    "updated_at",
    "version",
)


def _international(e164: str) -> str:
    return phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def _write_points(writer: _Writer, phone_rows: list, address_rows: list) -> None:
    writer.write(Phone._meta.db_table, PHONE_COLUMNS, phone_rows)
    writer.write(Address._meta.db_table, ADDRESS_COLUMNS, address_rows)


@dataclass
class _Batch:
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    emails: list[tuple[Any, ...]] = field(default_factory=list)
    phones: list[tuple[Any, ...]] = field(default_factory=list)
    addresses: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    affiliations: list[tuple[Any, ...]] = field(default_factory=list)

    def write(self, writer: _Writer) -> None:
        writer.write(Contact._meta.db_table, CONTACT_COLUMNS, self.contacts)
        writer.write(
            Email._meta.db_table,
            ("contact_id", "address", "address_key", "label", "primary", "position"),
            self.emails,
        )
        _write_points(writer, self.phones, self.addresses)
        writer.write(
            WebLink._meta.db_table,
            ("contact_id", "kind", "url", "label", "primary", "position"),
            self.links,
        )
        writer.write(Contact.tags.through._meta.db_table, ("contact_id", "tag_id"), self.tags)
        writer.write(Affiliation._meta.db_table, AFFILIATION_COLUMNS, self.affiliations)


def _person(
    contact_id: int,
    batch: _Batch,
    *,
    rng: random.Random,
    pools: _Pools,
    stage: str,
    orgs: list[tuple[int, str, str]],
    orgs_by_locale: dict[str, list[tuple[int, str, str]]],
    leaders: dict[int, list[int]],
    phones: _PhoneMaker,
    owners: list[int],
    tags: list[int],
    tag_names: dict[int, str],
    stamp: Callable[[], tuple[Any, Any]],
    realistic: bool,
    writer: _Writer,
) -> None:
    loc = pools.locale
    given, given_ascii = rng.choice(pools.given)
    family, family_ascii = rng.choice(pools.family)
    middle = ""
    if loc.country in ("US", "GB", "BR") and rng.random() < 0.2:
        middle = rng.choice(pools.given)[0]
        if loc.country == "US" and rng.random() < 0.6:
            middle = middle[0] + "."
    prefix = rng.choice(pools.prefixes) if pools.prefixes and rng.random() < 0.04 else ""
    suffix = "Jr." if loc.country == "US" and rng.random() < 0.01 else ""
    nickname = ""
    parts = normalize.NameParts(prefix, given, middle, family, suffix, nickname)
    display = normalize.display_name(parts)[:300]
    created, updated = stamp()

    # Where they work now (most people) and where they worked before (some).
    org_names: list[str] = []
    job_title = ""
    work_domain = ""
    if orgs and rng.random() < 0.8:
        # Most people work in their own country; bigger organizations employ more.
        nearby = orgs_by_locale.get(loc.code) if rng.random() < 0.8 else None
        choices = nearby or orgs
        org_id, org_name, work_domain = choices[int(len(choices) * rng.random() ** 2.2)]
        team = leaders.setdefault(org_id, [])
        if not team:
            job_title, boss = rng.choice(HEAD_TITLES), None
            department = "Management"
        else:
            boss = rng.choice(team)
            if len(team) < KEEP_LEADERS:
                job_title = rng.choice(LEAD_TITLES)
            else:
                job_title = rng.choice(pools.jobs)
            department = rng.choice(DEPARTMENTS)
        if len(team) < KEEP_LEADERS:
            team.append(contact_id)
        start = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(5_000))
        batch.affiliations.append(
            (
                contact_id,
                org_id,
                job_title,
                department,
                writer.day(start),
                None,
                True,
                boss,
                rng.choice(BUYING_ROLES) if rng.random() < 0.4 else "",
                created,
                updated,
                1,
            )
        )
        org_names.append(org_name)
        if rng.random() < 0.15:
            past_id = orgs[rng.randrange(len(orgs))][0]
            if past_id != org_id:
                ended = start - dt.timedelta(days=rng.randrange(30, 400))
                began = ended - dt.timedelta(days=rng.randrange(200, 3_000))
                batch.affiliations.append(
                    (
                        contact_id,
                        past_id,
                        rng.choice(pools.jobs),
                        rng.choice(DEPARTMENTS),
                        writer.day(began),
                        writer.day(ended),
                        False,
                        None,
                        "",
                        created,
                        updated,
                        1,
                    )
                )
    elif rng.random() < 0.5:
        job_title = rng.choice(pools.jobs)

    # Emails: work address at the organization's domain, and/or a free-mail one.
    emails: list[str] = []
    if work_domain:
        local = rng.choice(
            (
                f"{given_ascii}.{family_ascii}",
                f"{given_ascii[:1]}{family_ascii}",
                f"{given_ascii}",
                f"{given_ascii}_{family_ascii}",
            )
        )
        emails.append(_email(local, work_domain))
    if not work_domain or rng.random() < 0.35:
        local = rng.choice(
            (
                f"{given_ascii}.{family_ascii}{rng.randrange(10, 99)}",
                f"{given_ascii}{family_ascii}{rng.randrange(1950, 2005)}",
                f"{family_ascii}.{given_ascii}",
                f"{given_ascii[:1]}.{family_ascii}{rng.randrange(1, 999)}",
            )
        )
        address = _email(local, rng.choice(loc.free_mail))
        if normalize.email_key(address) not in {normalize.email_key(e) for e in emails}:
            emails.append(address)
    for i, address in enumerate(emails):
        label = "Work" if work_domain and i == 0 else "Personal"
        batch.emails.append((contact_id, address, normalize.email_key(address), label, i == 0, i))

    # Phones: a mobile, sometimes a work line; typed nationally or internationally.
    numbers: list[str] = []
    if rng.random() < 0.9:
        typed, e164 = phones.make(loc.country, mobile=True, international=rng.random() < 0.5)
        numbers.append(e164)
        batch.phones.append((contact_id, None, typed, e164, "", "Mobile", True, 0))
    if work_domain and rng.random() < 0.4:
        typed, e164 = phones.make(loc.country, mobile=False, international=rng.random() < 0.5)
        if e164 not in numbers:
            numbers.append(e164)
            position = len(numbers) - 1
            batch.phones.append(
                (contact_id, None, typed, e164, "", "Work", position == 0, position)
            )

    places: list[str] = []
    if rng.random() < 0.85:
        street, city, region, postcode = rng.choice(pools.places)
        places.append(city)
        label = rng.choice(("Home", "Work", ""))
        batch.addresses.append(
            (contact_id, None, street, city, region, postcode, loc.country, label, True, 0)
        )
    elif loc.country != settings.RAPPORT_DEFAULT_REGION:
        # Without an address a number typed the national way is read by the default
        # region, so saving the person again would refuse it: type it as +CC instead.
        index = len(batch.phones) - 1
        while index >= 0 and batch.phones[index][0] == contact_id:  # this person's, last
            row = batch.phones[index]
            batch.phones[index] = (*row[:2], _international(row[3]), *row[3:])
            index -= 1

    if realistic and rng.random() < 0.3:
        url = normalize.url(
            f"https://www.linkedin.com/in/{given_ascii}-{family_ascii}-{rng.randrange(1000, 9999)}"
        )
        batch.links.append((contact_id, "social", url, "LinkedIn", True, 0))
    batch.tags += [(contact_id, t) for t in tags]

    birthday = None
    if rng.random() < 0.3:
        birthday = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(19_700))
    notes = ""
    if realistic and rng.random() < 0.2:
        notes = rng.choice(
            (
                "Met at the spring conference; interested in a pilot.",
                "Prefers email over phone calls.",
                "Introduced by a mutual contact. Follow up next quarter.",
                "Asked for pricing for 50 seats.",
                "Speaks at industry events; good reference.",
            )
        )
    fields = {"display_name": display, "prefix": prefix}
    doc = search_doc.build(
        names=[display, nickname],
        emails=emails,
        phones=numbers,
        organizations=org_names,
        places=places,
        tags=[tag_names[t] for t in tags],
        extra=[job_title],
    )
    batch.contacts.append(
        (
            contact_id,
            prefix,
            given,
            middle,
            family,
            suffix,
            nickname,
            display,
            writer.day(birthday),
            job_title,
            rng.choice(loc.time_zones),
            loc.language,
            notes,
            "",
            rng.choice(owners) if owners and rng.random() < 0.9 else None,
            rng.choice(SOURCES),
            stage,
            "{}",
            _sort_key(fields),
            fold(family),
            doc,
            created,
            updated,
            1,
        )
    )


def _chunks(ids: Iterable[int], size: int) -> Iterable[list[int]]:
    chunk: list[int] = []
    for i in ids:
        chunk.append(i)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _record_history(contact_first: int, org_first: int) -> None:
    """A "create" entry for each new record, as the services would have written."""
    records: list[ChangeRecord] = []
    orgs = Organization.objects.filter(id__gte=org_first).select_related("owner", "parent")
    for org in orgs.prefetch_related("phones", "addresses", "tags"):
        records.append(
            ChangeRecord(
                object_type="organization",
                object_id=org.pk,
                object_repr=org.name[:300],
                action="create",
                changes=diff({}, organization_snapshot(org)),
                via="cli",
            )
        )
    ids = Contact.objects.filter(id__gte=contact_first).values_list("id", flat=True)
    for chunk in _chunks(ids.iterator(), 1_000):
        people = (
            Contact.objects.filter(id__in=chunk)
            .select_related("owner")
            .prefetch_related("emails", "phones", "addresses", "links", "tags")
        )
        for person in people:
            records.append(
                ChangeRecord(
                    object_type="contact",
                    object_id=person.pk,
                    object_repr=person.display_name[:300],
                    action="create",
                    changes=diff({}, contact_snapshot(person)),
                    via="cli",
                )
            )
    ChangeRecord.objects.bulk_create(records, batch_size=1_000)
