"""Imports: upload a file, map its columns, run it as an undoable batch, undo it.

Every row goes through the contact services, exactly as if it had been typed in the
UI: the same validation, normalisation, permissions and history. A row that fails is
reported (row, column, value, reason) and the import goes on. Rows are written in
chunks; each chunk commits together with the batch's progress, so an import killed
mid-way leaves no half-written contact and resumes after the last committed chunk.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.contacts import normalize
from rapport.contacts import services as contact_services
from rapport.contacts.models import Affiliation, Contact, Email, ExternalId, Organization, Phone
from rapport.core import bulk, hooks, jobs, policy
from rapport.core.errors import FieldError, InvalidInput, NotAdmitted, NotPermitted
from rapport.core.text import fold
from rapport.duplicates import services as duplicates
from rapport.ingest import drafting, parsers, presets
from rapport.ingest import mapping as targets
from rapport.ingest.models import ImportBatch, ImportChange, ImportRowError, SavedMapping
from rapport.ingest.records import (
    RowRecord,
    build_record,
    contact_data,
    drop_optional,
    is_optional,
    row_external_ids,
)

logger = logging.getLogger(__name__)
CHUNK_ROWS = 500
MAX_BYTES = 1024 * 1024 * 1024
_LEGAL_SUFFIX = re.compile(
    r"\b(inc|incorporated|corp|corporation|co|company|llc|llp|ltd|limited|plc|gmbh|ag|kg|sa|sas|sarl|s\.?a\.?r\.?l|bv|nv|srl|spa|s\.?p\.?a|oy|ab|as|aps|pty|kk)\b\.?",
)


def organization_key(name: str) -> str:
    """'ACME, Inc.' and 'Acme Incorporated' and 'acme' compare equal; '&' is 'and'."""
    text = fold(name).replace("&", " and ")
    text = _LEGAL_SUFFIX.sub(" ", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


# ---------------------------------------------------------------------------- upload


def import_upload(
    *, actor: Any, upload: IO[bytes], file_name: str, source: str = "", encoding: str | None = None
) -> ImportBatch:
    """Keep the file, recognise its format, encoding and columns, and propose a mapping.

    Raises NotPermitted, or InvalidInput on ``file`` (unreadable, empty, too large…)
    or ``source``. Nothing is kept when the file cannot be read.
    """
    policy.require(actor, "imports.run")
    file_name = Path(file_name or "upload").name[:255]
    source = (source or "").strip()[:100] or Path(file_name).stem[:100] or "import"
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise InvalidInput.single("file", "The file is larger than 1 GB.")
    if size == 0:
        raise InvalidInput.single("file", "The file is empty.")
    upload.seek(0)
    batch = ImportBatch(
        source=source,
        file_name=file_name,
        checksum=digest.hexdigest(),
        size=size,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    batch.file.save(f"{digest.hexdigest()[:16]}-{file_name}", File(upload), save=False)
    try:
        table = parsers.detect(Path(batch.file.path), file_name, encoding=encoding)
    except parsers.UnreadableFile as exc:
        batch.file.delete(save=False)
        raise InvalidInput.single("file", str(exc)) from None
    batch.file_format = table.file_format
    batch.encoding = table.encoding
    batch.delimiter = table.delimiter
    batch.headers = table.headers
    batch.mapping = _proposed_mapping(table)
    batch.log = [{"at": timezone.now().isoformat(), "message": note} for note in table.notes]
    batch.save()
    return batch


def _proposed_mapping(table: parsers.Table) -> dict[str, str]:
    """The mapping a file starts with; a failed-rows download's error column is ignored."""
    mapping = _guessed_mapping(table)
    return {h: "" if is_errors_column(h) else target for h, target in mapping.items()}


def _guessed_mapping(table: parsers.Table) -> dict[str, str]:
    if table.identity_mapping:
        return {h: h if targets.is_target(h) else "" for h in table.headers}
    preset = presets.detect_preset(table.headers)
    if preset:
        # Columns named after a field (as in Rapport's own export) map to that field.
        return {h: preset[1].get(h) or (h if targets.is_target(h) else "") for h in table.headers}
    saved = (
        SavedMapping.objects.filter(mapping__has_key=table.headers[0]).order_by("-created_at")
        if table.headers
        else None
    )
    for candidate in saved or []:
        if set(candidate.mapping) == set(table.headers):
            return dict(candidate.mapping)
    return dict(presets.guess_mapping(table.headers))


def open_table(batch: ImportBatch) -> parsers.Table:
    try:
        return parsers.detect(
            Path(batch.file.path), batch.file_name, encoding=batch.encoding or None
        )
    except parsers.UnreadableFile as exc:
        raise InvalidInput.single("file", str(exc)) from None


# --------------------------------------------------------------------------- mapping


def import_configure(
    *,
    actor: Any,
    batch: ImportBatch,
    mapping: dict[str, str] | None = None,
    mode: str | None = None,
    dry_run: bool | None = None,
    encoding: str | None = None,
    save_as: str = "",
) -> ImportBatch:
    """Set the mapping, mode and encoding of a batch that has not started yet."""
    policy.require(actor, "imports.run")
    if batch.status != ImportBatch.Status.PENDING:
        raise InvalidInput.single(
            "status", "This import has already started; its mapping cannot change."
        )
    errors: list[FieldError] = []
    if mapping is not None:
        for column, target in mapping.items():
            if column not in batch.headers:
                errors.append(FieldError(f"mapping.{column}", "The file has no such column."))
            elif target and not targets.is_target(target):
                errors.append(
                    FieldError(f"mapping.{column}", f"“{target}” is not a field contacts have.")
                )
        seen: dict[str, str] = {}
        for column, target in mapping.items():
            bare = (target or "").removesuffix("!")
            if bare and bare != "tags" and bare in seen:
                errors.append(
                    FieldError(
                        f"mapping.{column}", f"{bare} is already filled from “{seen[bare]}”."
                    )
                )
            seen.setdefault(bare, column)
    if mode is not None and mode not in ImportBatch.Mode.values:
        errors.append(FieldError("mode", f"Must be one of: {', '.join(ImportBatch.Mode.values)}."))
    if errors:
        raise InvalidInput(errors)
    if encoding and encoding != batch.encoding:
        try:
            table = parsers.detect(Path(batch.file.path), batch.file_name, encoding=encoding)
        except parsers.UnreadableFile as exc:
            raise InvalidInput.single("encoding", str(exc)) from None
        batch.encoding, batch.headers = table.encoding, table.headers
        if mapping is None:
            batch.mapping = _proposed_mapping(table)
    if mapping is not None:
        batch.mapping = {h: mapping.get(h, "") for h in batch.headers}
    if mode is not None:
        batch.mode = mode
    if dry_run is not None:
        batch.dry_run = dry_run
    batch.save()
    if save_as.strip():
        SavedMapping.objects.update_or_create(
            name=save_as.strip()[:100],
            defaults={
                "mapping": batch.mapping,
                "created_by": actor if getattr(actor, "pk", None) else None,
            },
        )
    return batch


@dataclass
class PreviewRow:
    row_number: int
    data: dict[str, Any]
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    # values the import would leave out of this row, which it still imports
    warnings: list[tuple[str, str, str]] = field(default_factory=list)


def import_preview(*, actor: Any, batch: ImportBatch, limit: int = 10) -> list[PreviewRow]:
    """The first rows after mapping and normalisation, with what would be wrong with them."""
    policy.require(actor, "imports.run")
    table = open_table(batch)
    preview = []
    for row_number, cells in _limited(table.rows, limit):
        if cells is None:
            preview.append(PreviewRow(row_number, {}, [("", "", "This entry could not be read.")]))
            continue
        record = build_record(batch.mapping, batch.headers, cells)
        for attempt in range(2):
            try:
                data = contact_services.contact_clean(
                    actor=actor, data=contact_data(record, batch.source)
                )
            except NotAdmitted as exc:
                preview.append(PreviewRow(row_number, {}, suppressed_errors(record, exc.errors)))
            except InvalidInput as exc:
                if not attempt and drop_optional(record, exc.errors):
                    continue  # as the import does: without the bad optional value
                preview.append(
                    PreviewRow(row_number, record.data, _row_errors(record, exc), record.warnings)
                )
            else:
                preview.append(PreviewRow(row_number, data, [], record.warnings))
            break
    return preview


def _limited(rows: Iterator[tuple[int, Any]], limit: int) -> Iterator[tuple[int, Any]]:
    return itertools.islice(rows, limit)


# ----------------------------------------------------------------------------- run


def import_start(*, actor: Any, batch: ImportBatch) -> ImportBatch:
    """Queue a configured (or interrupted) batch; a worker runs it in the background."""
    policy.require(actor, "imports.run")
    startable = (ImportBatch.Status.PENDING, ImportBatch.Status.INTERRUPTED)
    if batch.status == ImportBatch.Status.RUNNING and is_stalled(batch):
        startable = (ImportBatch.Status.RUNNING,)
    if batch.status not in startable:
        raise InvalidInput.single("status", f"This import is {batch.get_status_display().lower()}.")
    if not any(batch.mapping.values()):
        raise InvalidInput.single("mapping", "Map at least one column to a contact field.")
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.QUEUED)
    batch.status = ImportBatch.Status.QUEUED
    from rapport.ingest.tasks import run_import

    transaction.on_commit(lambda: run_import.enqueue(batch_id=batch.pk))
    return batch


def is_stalled(batch: ImportBatch) -> bool:
    """A running batch whose worker stopped reporting (killed, crashed, restarted)."""
    return jobs.job_is_stale(batch, running=ImportBatch.Status.RUNNING)


def import_require_not_running(batch: ImportBatch) -> None:
    """Raise InvalidInput when a live process is still running ``batch``."""
    if jobs.job_is_live(batch, running=ImportBatch.Status.RUNNING):
        raise InvalidInput.single(
            "status",
            f"Import {batch.pk} is still running in another process ({jobs.last_heard(batch)}); "
            "wait for it to finish. If that process has died, the import can be resumed "
            f"once it has been silent for {int(jobs.stale_after().total_seconds())} seconds.",
        )


def import_stopped_message(batch: ImportBatch) -> str:
    """What ``jobs_recover`` records on a batch whose worker died."""
    return (
        f"The process running this import stopped after {batch.processed_rows} rows "
        f"({jobs.last_heard(batch)}); resume it to carry on from there."
    )


class AmbiguousOrganization(Exception):
    """A row's organization name fits several organizations and nothing tells which."""


@dataclass(slots=True)
class _Change:
    """What a row did to one contact, as an ``ImportChange`` row will record it."""

    contact_id: int
    action: str
    version_after: int
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Outcome:
    action: str  # created, updated, unchanged, failed
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    change: _Change | None = None
    organization_id: int | None = None
    affiliation_id: int | None = None
    # refused as someone erased: the row's values are not kept (no cells, no values)
    suppressed: bool = False


def suppressed_errors(record: RowRecord, errors: list[FieldError]) -> list[tuple[str, str, str]]:
    """A refused row's errors (column, value, reason) without its values: the person
    asked to be erased, so the failure report keeps none of their details."""
    return [(record.column_for(e.path)[0], "", e.message) for e in errors[:1]]


def _suppressed(record: RowRecord, errors: list[FieldError]) -> _Outcome:
    return _Outcome("failed", suppressed_errors(record, errors), suppressed=True)


class _Run:
    """The state of one run of a batch: caches that spare a query per row."""

    def __init__(
        self, claim: jobs.Claim, batch: ImportBatch, actor: Any, table: parsers.Table
    ) -> None:
        self.claim = claim
        self.batch = batch
        self.actor = actor
        self.table = table
        self.organizations_by_domain: dict[str, int] = {}
        # Several organizations may share a name ("Acme Inc." and "ACME GmbH").
        self.organizations_by_key: dict[str, list[int]] = {}
        self.organization_names: dict[int, str] = {}
        self.organization_domains: dict[int, list[str]] = {}
        self.created_organization: dict[int, int] = {}
        for pk, name, domains in Organization.objects.values_list("id", "name", "domains"):
            self.organization_names[pk] = name
            self.organization_domains[pk] = list(domains or [])
            self.organizations_by_key.setdefault(organization_key(name), []).append(pk)
            for domain in domains or []:
                self.organizations_by_domain.setdefault(domain, pk)
        self.pending_created: dict[int, _Change] = {}
        self.organization_refs: dict[int, Organization] = {}
        # rows refused as people who asked to be erased: blanked in the stored file
        self.suppressed_rows: set[int] = set()
        self.created_here: set[int] = set(
            ImportChange.objects.filter(
                batch=batch, action=ImportChange.Action.CREATED
            ).values_list("contact_id", flat=True)
        )

    # -- matching ---------------------------------------------------------------

    def match(self, record: RowRecord) -> Contact | None:
        """Existing contact by external id, then email, then E.164 phone (in that order)."""
        ids = row_external_ids(record, self.batch.source)
        if ids:
            # also ids a merge retired: they lead to the contact that took the data over
            owners = contact_services.external_id_owners(set(ids.items()))
            for pair in ids.items():
                if pair in owners:
                    return Contact.objects.get(pk=owners[pair])
        keys = [
            normalize.email_key(e["address"])
            for e in record.data.get("emails", [])
            if "@" in e.get("address", "")
        ]
        if keys:
            found_id = (
                Email.objects.filter(address_key__in=[_email_key(k) for k in keys])
                .values_list("contact_id", flat=True)
                .first()
            )
            if found_id:
                return Contact.objects.get(pk=found_id)
        region = _region(record)
        numbers = []
        for phone in record.data.get("phones", []):
            try:
                numbers.append(normalize.phone(phone.get("number", ""), region=region).e164)
            except ValueError:
                continue
        if numbers:
            found_id = (
                Phone.objects.filter(e164__in=numbers, contact__isnull=False)
                .values_list("contact_id", flat=True)
                .first()
            )
            if found_id:
                return Contact.objects.get(pk=found_id)
        return None

    # -- one row ----------------------------------------------------------------

    def process(self, record: RowRecord) -> _Outcome:
        mode = self.batch.mode
        existing = self.match(record)
        if existing is None:
            if mode == ImportBatch.Mode.UPDATE:
                return _Outcome(
                    "failed", [("", "", "No existing contact matches this row (update mode).")]
                )
            contact = contact_services.contact_create(
                actor=self.actor, data=contact_data(record, self.batch.source), via="import"
            )
            organization_id, _ = self.affiliate(contact, record)
            self.created_here.add(contact.pk)
            version = Contact.objects.filter(pk=contact.pk).values_list("version", flat=True).get()
            change = _Change(
                contact_id=contact.pk,
                action=ImportChange.Action.CREATED,
                version_after=version,
            )
            self.pending_created[contact.pk] = change
            return _Outcome("created", change=change, organization_id=organization_id)
        if mode == ImportBatch.Mode.CREATE and existing.pk not in self.created_here:
            return _Outcome("unchanged")
        patch, before = _patch(existing, record, self.batch)
        if patch:
            contact_services.contact_update(
                actor=self.actor, contact=existing, data=patch, via="import"
            )
        organization_id, affiliation_id = self.affiliate(existing, record)
        if not patch and affiliation_id is None:
            return _Outcome("unchanged")
        current = Contact.objects.get(pk=existing.pk)
        after = _comparable(contact_services.contact_values(current), current, set(patch))
        change = _Change(
            contact_id=existing.pk,
            action=ImportChange.Action.UPDATED,
            before=before,
            after=after,
            version_after=current.version,
        )
        if existing.pk in self.created_here:
            # A second row for someone this batch created: undo still removes them whole.
            if existing.pk in self.pending_created:
                self.pending_created[existing.pk].version_after = current.version
            else:
                ImportChange.objects.filter(
                    batch=self.batch, contact_id=existing.pk, action=ImportChange.Action.CREATED
                ).update(version_after=current.version)
            return _Outcome("updated", organization_id=organization_id)
        return _Outcome(
            "updated", change=change, organization_id=organization_id, affiliation_id=affiliation_id
        )

    def process_many(
        self,
        records: list[RowRecord],
        drafts_given: list[contact_services.ContactDraft | None],
    ) -> list[_Outcome]:
        """What each record of a chunk did, in order.

        ``drafts_given`` holds each record's person validated as a new contact (None
        when invalid or in update mode; see ``drafting``). New people (matching no
        existing contact and sharing no email, phone or external id with an earlier
        row) are saved together with ``contacts_create``; every other row, and every
        row in update mode, goes through ``process`` one by one, after them.
        """
        outcomes: dict[int, _Outcome] = {}
        drafts = {i: draft for i, draft in enumerate(drafts_given) if draft is not None}
        if drafts:
            # People on the suppression list fail whole, before anything is written.
            order = list(drafts)
            for refusal in hooks.contacts_admitting([drafts[i].newcomer for i in order]):
                i = order[refusal.index]
                if i in drafts:
                    outcomes[i] = _suppressed(
                        records[i], [FieldError(refusal.path, refusal.message)]
                    )
                    del drafts[i]
        if drafts:
            lookups = contact_services.Lookups()
            existing = self.existing_keys(drafts.values())
            seen: set[tuple[str, str]] = set()
            for i, record in enumerate(records):
                draft = drafts.get(i)
                keys = _draft_keys(draft) if draft else _raw_keys(record, self.batch)
                if draft and (keys & existing or keys & seen):
                    del drafts[i]
                seen |= keys
            self.created_organization = {}
            org_ids, failed = self.organizations_for({i: records[i] for i in drafts}, lookups)
            for i, outcome in failed.items():
                outcomes[i] = outcome
                del drafts[i]
            for i, draft in drafts.items():
                org_id = org_ids.get(i)
                if org_id is not None:
                    draft.organization = self.organization_ref(org_id)
                    draft.role_title = draft.role_title or draft.fields["job_title"]
                outcomes[i] = _Outcome("created", organization_id=self.created_organization.get(i))
            contact_services.contacts_create(
                actor=self.actor, drafts=list(drafts.values()), lookups=lookups, via="import"
            )
            for i, draft in drafts.items():
                assert draft.contact_id is not None
                self.created_here.add(draft.contact_id)
                change = _Change(
                    contact_id=draft.contact_id,
                    action=ImportChange.Action.CREATED,
                    version_after=1,
                )
                self.pending_created[draft.contact_id] = change
                outcomes[i].change = change
        for i, record in enumerate(records):
            if i in outcomes:
                continue
            outcomes[i] = self.process_one(record)
        return [outcomes[i] for i in range(len(records))]

    def process_one(self, record: RowRecord) -> _Outcome:
        """``process`` in a savepoint; a row that fails only for optional values (a bad
        website) is tried again without them, and they are reported as warnings."""
        try:
            with transaction.atomic():
                return self.process(record)
        except NotAdmitted as exc:
            return _suppressed(record, exc.errors)
        except InvalidInput as exc:
            if not all(is_optional(e.path) for e in exc.errors):
                return _Outcome("failed", _row_errors(record, exc))
            # An update's error paths count the contact's values too: the row's own
            # problems are found by checking the row on its own.
            try:
                contact_services.contact_clean(
                    actor=self.actor, data=contact_data(record, self.batch.source)
                )
                problems = exc.errors
            except NotAdmitted as own:
                return _suppressed(record, own.errors)
            except InvalidInput as own:
                problems = [e for e in own.errors if is_optional(e.path)]
            if not drop_optional(record, problems):
                return _Outcome("failed", _row_errors(record, exc))
        try:
            with transaction.atomic():
                return self.process(record)
        except NotAdmitted as exc:
            return _suppressed(record, exc.errors)
        except InvalidInput as exc:
            return _Outcome("failed", _row_errors(record, exc))

    def existing_keys(
        self, drafts: Iterable[contact_services.ContactDraft]
    ) -> set[tuple[str, str]]:
        """The drafts' external ids, emails and phone numbers some contact already has."""
        drafts = list(drafts)
        found: set[tuple[str, str]] = set()
        owners = contact_services.external_id_owners(
            {pair for d in drafts for pair in d.external_ids}
        )
        found |= {("id", f"{source}\x00{value}") for source, value in owners}
        emails = {key for d in drafts for key in d.email_keys}
        found |= {("email", key) for key in _held(Email, "address_key", emails)}
        phones = {number for d in drafts for number in d.phone_numbers}
        found |= {("phone", number) for number in _held(Phone, "e164", phones)}
        return found

    def find_organization(
        self, record: RowRecord, contact_id: int | None = None
    ) -> tuple[int | None, str, str]:
        """The row's known organization (by domain, then name), and the name and domain given.

        When the name fits several organizations, the one whose domain is that of one of
        the row's email addresses is taken, else the one the person (``contact_id``)
        already works at. Raises AmbiguousOrganization when that still leaves several
        (nothing is guessed), InvalidInput for a domain that cannot be one.
        """
        name = record.organization_name
        domain = ""
        if record.organization_domain:
            try:
                domain = normalize.domain(record.organization_domain)
            except ValueError as exc:
                raise InvalidInput.single("organization.domain", str(exc)) from None
        org_id = self.organizations_by_domain.get(domain) if domain else None
        if org_id is None and name:
            candidates = self.organizations_by_key.get(organization_key(name), [])
            org_id = candidates[0] if len(candidates) == 1 else None
            if len(candidates) > 1:
                org_id = self.pick_organization(candidates, record, contact_id)
        return org_id, name, domain

    def pick_organization(
        self, candidates: list[int], record: RowRecord, contact_id: int | None
    ) -> int:
        """Which of several organizations of the same name the row means; see find_organization."""
        email_domains = {
            e["address"].rpartition("@")[2].strip().casefold()
            for e in record.data.get("emails", [])
            if "@" in e.get("address", "")
        }
        by_email = [
            pk
            for pk in candidates
            if any(
                mail == d or mail.endswith("." + d)
                for d in self.organization_domains.get(pk, [])
                for mail in email_domains
            )
        ]
        if len(by_email) == 1:
            return by_email[0]
        if contact_id is not None:
            working_at = set(
                Affiliation.objects.filter(
                    contact_id=contact_id, organization_id__in=candidates
                ).values_list("organization_id", flat=True)
            )
            if len(working_at) == 1:
                return working_at.pop()
        names = ", ".join(
            f"{self.organization_names.get(pk, '')} (#{pk})" for pk in sorted(candidates)[:5]
        )
        raise AmbiguousOrganization(
            f"“{record.organization_name}” matches {len(candidates)} organizations ({names}), "
            "and neither an email domain nor a current role tells which; the person was not "
            "linked to any. Link them on their page, or add an organization domain column."
        )

    def organization_ref(self, org_id: int) -> Organization:
        """An unsaved stand-in (id and name) for a draft to point at, one per organization."""
        if org_id not in self.organization_refs:
            self.organization_refs[org_id] = Organization(
                pk=org_id, name=self.organization_names[org_id]
            )
        return self.organization_refs[org_id]

    def remember_organization(self, org: Organization) -> None:
        self.organization_names[org.pk] = org.name
        self.organization_domains[org.pk] = list(org.domains)
        same_name = self.organizations_by_key.setdefault(organization_key(org.name), [])
        if org.pk not in same_name:
            same_name.append(org.pk)
        for domain in org.domains:
            self.organizations_by_domain.setdefault(domain, org.pk)

    def organization_for(
        self, record: RowRecord, contact_id: int | None = None
    ) -> tuple[int | None, int | None]:
        """The row's organization, matched or created (its id, and its id again if created).

        An ambiguous name links to none; the row gets a warning saying so.
        """
        try:
            org_id, name, domain = self.find_organization(record, contact_id)
        except AmbiguousOrganization as exc:
            record.warn("organization", str(exc))
            return None, None
        if org_id is not None or not (name or domain):
            return org_id, None
        org = contact_services.organization_create(
            actor=self.actor,
            data={"name": name or domain, "domains": [domain] if domain else []},
            via="import",
        )
        self.remember_organization(org)
        return org.pk, org.pk

    def organizations_for(
        self, records: dict[int, RowRecord], lookups: contact_services.Lookups
    ) -> tuple[dict[int, int], dict[int, _Outcome]]:
        """The organization of each record, matched or created together in one go.

        Returns the organization id per record that names one, and a failed outcome
        for each record whose organization cannot be created (its name too long…);
        ``created_organization`` marks the first record of each new one.
        """
        found: dict[int, int] = {}
        failed: dict[int, _Outcome] = {}
        wanted: dict[str, list[int]] = {}
        data: dict[str, dict[str, Any]] = {}
        for i, record in records.items():
            try:
                org_id, name, domain = self.find_organization(record)
            except InvalidInput as exc:
                failed[i] = _Outcome("failed", _row_errors(record, exc))
                continue
            except AmbiguousOrganization as exc:
                record.warn("organization", str(exc))
                continue
            if org_id is not None:
                found[i] = org_id
            elif name or domain:
                key = f"@{domain}" if domain else organization_key(name)
                wanted.setdefault(key, []).append(i)
                data.setdefault(
                    key, {"name": name or domain, "domains": [domain] if domain else []}
                )
        drafts = {}
        for key, org_data in data.items():
            try:
                drafts[key] = contact_services.organization_draft(
                    actor=self.actor, data=org_data, lookups=lookups
                )
            except InvalidInput as exc:
                for i in wanted[key]:
                    errors = [
                        FieldError(
                            f"organization.{e.path}" if e.path != "name" else "organization",
                            e.message,
                        )
                        for e in exc.errors
                    ]
                    failed[i] = _Outcome("failed", _row_errors(records[i], InvalidInput(errors)))
        orgs = contact_services.organizations_create(
            actor=self.actor, drafts=list(drafts.values()), lookups=lookups, via="import"
        )
        for key, org in zip(drafts, orgs, strict=True):
            self.remember_organization(org)
            for i in wanted[key]:
                found[i] = org.pk
            self.created_organization[wanted[key][0]] = org.pk
        return found, failed

    def affiliate(self, contact: Contact, record: RowRecord) -> tuple[int | None, int | None]:
        """Link the person to the row's organization (matched or created).

        Returns the ids of the organization and the affiliation this created, if any.
        """
        org_id, created_id = self.organization_for(record, contact.pk)
        if org_id is None:
            return None, None
        current = Affiliation.objects.filter(
            contact=contact, organization_id=org_id, is_current=True
        ).first()
        if current is None:
            affiliation = contact_services.affiliation_create(
                actor=self.actor,
                data={
                    "contact": contact.pk,
                    "organization": org_id,
                    "title": record.title or record.data.get("job_title", ""),
                    "department": record.department,
                },
                via="import",
            )
            return created_id, affiliation.pk
        if (record.title and not current.title) or (record.department and not current.department):
            contact_services.affiliation_update(
                actor=self.actor,
                affiliation=current,
                data={
                    "title": current.title or record.title,
                    "department": current.department or record.department,
                },
                via="import",
            )
        return created_id, None


def _email_key(value: str) -> str:
    try:
        return normalize.email_key(normalize.email(value))
    except ValueError:
        return value.casefold()


def _held(model: type[Email | Phone], column: str, values: set[str]) -> set[str]:
    """Which of ``values`` some contact already has in ``column``."""
    held: set[str] = set()
    for query in bulk.matching(
        model.objects.filter(contact__isnull=False).order_by(), column, values
    ):
        held.update(query.values_list(column, flat=True))
    return held


def _draft_keys(draft: contact_services.ContactDraft) -> set[tuple[str, str]]:
    return {
        *(("id", f"{source}\x00{value}") for source, value in draft.external_ids),
        *(("email", key) for key in draft.email_keys),
        *(("phone", number) for number in draft.phone_numbers),
    }


def _raw_keys(record: RowRecord, batch: ImportBatch) -> set[tuple[str, str]]:
    """What an invalid row could still be matched by (it may update someone)."""
    return {
        *(
            ("id", f"{source}\x00{value}")
            for source, value in row_external_ids(record, batch.source).items()
        ),
        *(("email", _email_key(e.get("address", ""))) for e in record.data.get("emails", [])),
    }


def _region(record: RowRecord) -> str:
    for address in record.data.get("addresses", []):
        try:
            code = normalize.country(address.get("country", ""))
        except ValueError:
            continue
        if code:
            return code
    return str(settings.RAPPORT_DEFAULT_REGION)


_NAME_FIELDS = ("prefix", "given_name", "middle_name", "family_name", "suffix", "nickname")


def _patch(
    contact: Contact, record: RowRecord, batch: ImportBatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the row adds to an existing contact: empty fields filled, new values appended.

    A non-empty field is replaced only when the mapping marks it with ``!``.
    """
    current = contact_services.contact_values(contact)
    patch: dict[str, Any] = {}
    data = record.data
    names_empty = not any(current.get(n) for n in _NAME_FIELDS)
    for key, value in data.items():
        if key in ("emails", "phones", "addresses", "urls", "tags", "custom_fields"):
            continue
        if key == "full_name":
            if names_empty or "full_name" in record.overwrite:
                patch["full_name"] = value
            continue
        if key == "source":
            continue
        now = current.get(key)
        if (now in (None, "") or key in record.overwrite) and str(now or "") != value:
            patch[key] = value
    region = _region(record) if not contact.addresses.exists() else ""
    if data.get("emails"):
        have = {_email_key(e["address"]) for e in current["emails"]}
        new = [e for e in data["emails"] if _email_key(e.get("address", "")) not in have]
        if "emails" in record.overwrite:
            patch["emails"] = data["emails"]
        elif new:
            patch["emails"] = _appended(current["emails"], new)
    if data.get("phones"):
        have_numbers = {p.e164 for p in contact.phones.all()}
        new = []
        for phone in data["phones"]:
            try:
                e164 = normalize.phone(
                    phone.get("number", ""), region=region or _region(record)
                ).e164
            except ValueError:
                new.append(phone)  # the service reports it, with its column
                continue
            if e164 not in have_numbers:
                have_numbers.add(e164)
                new.append(phone)
        if "phones" in record.overwrite:
            patch["phones"] = data["phones"]
        elif new:
            patch["phones"] = _appended(current["phones"], new)
    for kind, key_parts in (
        ("addresses", ("street", "locality", "postcode", "country")),
        ("urls", ("url",)),
    ):
        if not data.get(kind):
            continue
        have_keys = {tuple(fold(str(x.get(p) or "")) for p in key_parts) for x in current[kind]}
        new = [
            x
            for x in data[kind]
            if tuple(fold(str(x.get(p) or "")) for p in key_parts) not in have_keys
        ]
        if kind in record.overwrite:
            patch[kind] = data[kind]
        elif new:
            patch[kind] = _appended(current[kind], new)
    if data.get("tags"):
        have_tags = [t.name for t in contact.tags.all()]
        folded = {fold(t) for t in have_tags}
        new_tags = [t for t in data["tags"] if fold(t) not in folded]
        if new_tags:
            patch["tags"] = have_tags + new_tags
    if data.get("custom_fields"):
        fill = {
            k: v
            for k, v in data["custom_fields"].items()
            if contact.custom_fields.get(k) in (None, "", [])
            or f"custom_fields.{k}" in record.overwrite
        }
        if fill:
            patch["custom_fields"] = fill
    have_ids = {x.source: x.value for x in contact.external_ids.all()}
    new_ids = {s: v for s, v in row_external_ids(record, batch.source).items() if s not in have_ids}
    if new_ids:
        patch["external_ids"] = [
            {"source": source, "id": value} for source, value in {**have_ids, **new_ids}.items()
        ]
    before = _comparable(current, contact, set(patch))
    return patch, before


def _appended(current: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``new`` entries after the contact's ``current`` ones, which keep their primary.

    A row's "primary" mark (Google's "* Work") speaks of the row's own values; it does
    not take the place of the one the contact already has.
    """
    if not current:
        return new
    return current + [{**entry, "primary": False} for entry in new]


def _comparable(values: dict[str, Any], contact: Contact, keys: set[str]) -> dict[str, Any]:
    """The contact's values for ``keys`` in input form (what undo writes back)."""
    result: dict[str, Any] = {}
    for key in keys:
        if key == "full_name":
            for name in _NAME_FIELDS:
                result[name] = values.get(name, "")
        elif key == "tags":
            result["tags"] = sorted(t.name for t in contact.tags.all())
        elif key == "custom_fields":
            result["custom_fields"] = dict(contact.custom_fields)
        elif key == "external_ids":
            result["external_ids"] = [
                {"source": x.source, "id": x.value} for x in contact.external_ids.all()
            ]
        else:
            value = values.get(key)
            result[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return result


def _row_errors(record: RowRecord, exc: InvalidInput) -> list[tuple[str, str, str]]:
    errors = []
    for error in exc.errors:
        column, value = record.column_for(error.path)
        errors.append(
            (column, value, f"{error.path}: {error.message}" if not column else error.message)
        )
    return errors


def import_run(*, batch_id: int, progress: Callable[[int], None] | None = None) -> ImportBatch:
    """Run (or resume) a queued batch to the end. Called by the background task and the CLI."""
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    actor = batch.created_by
    claim = jobs.job_claim(
        ImportBatch,
        batch.pk,
        startable=(ImportBatch.Status.QUEUED, ImportBatch.Status.INTERRUPTED),
        running=ImportBatch.Status.RUNNING,
        started_at=batch.started_at or timezone.now(),
    )
    batch.refresh_from_db()
    if claim is None:
        import_require_not_running(batch)
        raise InvalidInput.single(
            "status", f"Import {batch.pk} is {batch.get_status_display().lower()}."
        )
    if not policy.can(actor, "imports.run"):
        message = "The user who started this import may no longer import."
        _finish(claim, batch, ImportBatch.Status.FAILED, message)
        raise NotPermitted(message)
    with jobs.job_heartbeat(claim):
        return _import_run_claimed(claim, batch, actor, progress)


def _import_run_claimed(
    claim: jobs.Claim, batch: ImportBatch, actor: Any, progress: Callable[[int], None] | None
) -> ImportBatch:
    try:
        table = open_table(batch)
    except InvalidInput as exc:
        _finish(claim, batch, ImportBatch.Status.FAILED, exc.errors[0].message)
        return batch
    run = _Run(claim, batch, actor, table)
    rows = _skip(table.rows, batch.processed_rows)
    try:
        # The tables rows are matched by, kept known to the planner as they grow.
        statistics = bulk.Statistics(Email, Phone, ExternalId)
        with drafting.ValidatedChunks(batch, actor, rows, CHUNK_ROWS) as chunks:
            for chunk, prepared in chunks:
                statistics.grew(_run_chunk(run, chunk, prepared))
                batch.refresh_from_db(fields=["processed_rows", "status"])
                if progress is not None:
                    progress(batch.processed_rows)
    except jobs.ClaimLost:
        raise  # the batch is another process's now
    except Exception as exc:
        # Recorded first: a run taken over meanwhile (whose chunk may have failed only
        # because the new holder wrote the same rows) stops here with ClaimLost.
        _finish(
            claim,
            batch,
            ImportBatch.Status.INTERRUPTED,
            f"Stopped after {batch.processed_rows} rows: {exc}",
        )
        logger.exception("Import %s stopped", batch.pk)
        raise
    # Notes found at upload are already in the log; reading every row may add more.
    _log(claim, batch, *table.notes, new_only=True)
    claim.update(total_rows=batch.processed_rows)
    _finish(claim, batch, ImportBatch.Status.DONE, "")
    if run.suppressed_rows:
        _blank_suppressed(claim, batch, run.suppressed_rows)
    batch.refresh_from_db()
    _flag_duplicates(claim, batch, actor)
    return batch


def _blank_suppressed(claim: jobs.Claim, batch: ImportBatch, rows: set[int]) -> None:
    """The stored file keeps no row of someone on the suppression list: the rows
    refused are emptied in it once the import is done (row numbers stay)."""
    from rapport.ingest.subject_data import blank_rows

    try:
        blank_rows(batch, rows)
    except (OSError, ValueError, parsers.UnreadableFile):
        logger.exception("Import %s: the suppressed rows could not be blanked", batch.pk)
        return
    _log(
        claim,
        batch,
        f"{len(rows):,} row(s) of people who asked to be erased were refused and emptied "
        "in the stored file.",
    )


def _flag_duplicates(claim: jobs.Claim, batch: ImportBatch, actor: Any) -> None:
    """Queue a search for likely duplicates of what the batch wrote (those it did not
    match by external id, email or phone itself): they go to the review queue."""
    if batch.dry_run or not (batch.created_count or batch.updated_count):
        return
    if not policy.can(actor, "duplicates.review"):
        return
    duplicates.duplicates_scan_start(actor=actor, scope="batch", detail={"batch": batch.pk})
    _log(claim, batch, "Looking for likely duplicates of the imported contacts; see Duplicates.")


def _skip(rows: Iterator[tuple[int, Any]], count: int) -> Iterator[tuple[int, Any]]:
    for i, item in enumerate(rows):
        if i >= count:
            yield item


def _run_chunk(run: _Run, chunk: list[drafting.Row], prepared: list[drafting.Prepared]) -> int:
    """Save one chunk in one transaction; returns how many contacts it created or updated."""
    batch = run.batch
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    errors: list[ImportRowError] = []
    changes: list[ImportChange] = []
    created_orgs: list[int] = []
    created_affiliations: list[int] = []
    run.pending_created = {}
    with transaction.atomic():
        rows: list[tuple[int, list[str], RowRecord, contact_services.ContactDraft | None]] = []
        for (row_number, cells), item in zip(chunk, prepared, strict=True):
            if item is None:
                counts["failed"] += 1
                reason = run.table.take_problem(row_number) or "This entry could not be read."
                errors.append(ImportRowError(batch=batch, row_number=row_number, reason=reason))
                continue
            record, draft = item
            if not record.empty:
                rows.append((row_number, cells, record, draft))
        outcomes = run.process_many([row[2] for row in rows], [row[3] for row in rows])
        for (row_number, cells, record, _), outcome in zip(rows, outcomes, strict=True):
            counts[outcome.action] += 1
            if outcome.suppressed:
                record.warnings = []
                run.suppressed_rows.add(row_number)
            errors.extend(
                ImportRowError(
                    batch=batch,
                    row_number=row_number,
                    column=column[:255],
                    value=value[:1000],
                    reason=reason,
                    severity=ImportRowError.Severity.WARNING,
                )
                for column, value, reason in record.warnings
            )
            for i, (column, value, reason) in enumerate(outcome.errors):
                errors.append(
                    ImportRowError(
                        batch=batch,
                        row_number=row_number,
                        column=column[:255],
                        value=value[:1000],
                        reason=reason,
                        row=list(cells) if i == 0 and not outcome.suppressed else [],
                    )
                )
            if outcome.change is not None:
                changes.append(outcome.change)
            if outcome.organization_id:
                created_orgs.append(outcome.organization_id)
            if outcome.affiliation_id:
                created_affiliations.append(outcome.affiliation_id)
        if batch.dry_run:
            transaction.set_rollback(True)
        else:
            _save_progress(
                run.claim, batch, chunk, counts, errors, changes, created_orgs, created_affiliations
            )
    if batch.dry_run:
        with transaction.atomic():
            _save_progress(run.claim, batch, chunk, counts, errors, [], [], [])
        return 0
    return counts["created"] + counts["updated"]


def _save_progress(  # type: ignore[no-untyped-def]
    claim, batch, chunk, counts, errors, changes, created_orgs, created_affiliations
) -> None:
    """Record a chunk's rows with the batch's progress, in the chunk's transaction: if
    the batch was taken over meanwhile, ClaimLost rolls the whole chunk back."""
    ImportRowError.objects.bulk_create(errors)
    bulk.insert_rows(
        ImportChange,
        [
            {
                "batch_id": batch.pk,
                "contact_id": c.contact_id,
                "action": c.action,
                "before": c.before,
                "after": c.after,
                "version_after": c.version_after,
            }
            for c in changes
        ],
    )
    update: dict[str, Any] = {
        "processed_rows": F("processed_rows") + len(chunk),
        "created_count": F("created_count") + counts["created"],
        "updated_count": F("updated_count") + counts["updated"],
        "unchanged_count": F("unchanged_count") + counts["unchanged"],
        "failed_count": F("failed_count") + counts["failed"],
        "heartbeat_at": timezone.now(),
    }
    if created_orgs or created_affiliations:
        batch.refresh_from_db(fields=["created_organization_ids", "created_affiliation_ids"])
        update["created_organization_ids"] = [*batch.created_organization_ids, *created_orgs]
        update["created_affiliation_ids"] = [
            *batch.created_affiliation_ids,
            *created_affiliations,
        ]
    claim.update(**update)


def _log(claim: jobs.Claim, batch: ImportBatch, *messages: str, new_only: bool = False) -> None:
    """Append ``messages`` to the batch log in one write (``new_only``: skip repeats)."""
    batch.refresh_from_db(fields=["log"])
    seen = {entry.get("message") for entry in batch.log} if new_only else set()
    at = timezone.now().isoformat()
    added = [{"at": at, "message": m} for m in messages if m not in seen]
    if added:
        claim.update(log=[*batch.log, *added])


def _finish(claim: jobs.Claim, batch: ImportBatch, status: str, error: str) -> None:
    claim.update(status=status, error=error, finished_at=timezone.now())
    _log(claim, batch, error or f"Finished: {status}.")


ERRORS_COLUMN = "Import errors"


def is_errors_column(header: str) -> bool:
    """The column a failed-rows download adds ("Import errors", or "Import errors (2)"
    once a header repeats it): re-imported, it is neither data nor kept."""
    return re.fullmatch(rf"{ERRORS_COLUMN}( \(\d+\))?", header.strip(), re.IGNORECASE) is not None


def failed_rows(batch: ImportBatch) -> Iterator[list[str]]:
    """The failed rows as they were in the file, plus an error column: ready to fix and re-import.

    A file that is itself such a download keeps one error column, with the new reasons:
    the old column is left out. Rows that were imported (with warnings) are not included.
    """
    keep = [i for i, h in enumerate(batch.headers) if not is_errors_column(h)]
    yield [*(batch.headers[i] for i in keep), ERRORS_COLUMN]
    failed = batch.row_errors.filter(severity=ImportRowError.Severity.ERROR)
    failed_numbers = failed.values("row_number")
    reasons: dict[int, list[str]] = {}
    cells: dict[int, list[str]] = {}
    problems = batch.row_errors.filter(row_number__in=failed_numbers).order_by("row_number", "id")
    for error in problems.iterator(chunk_size=2000):
        where = f"{error.column}: " if error.column else ""
        reasons.setdefault(error.row_number, []).append(
            f"row {error.row_number}: {where}{error.reason}"
        )
        if error.row:
            cells[error.row_number] = error.row
    for row_number in sorted(reasons):
        row = list(cells.get(row_number, []))
        row += [""] * (len(batch.headers) - len(row))
        yield [*(row[i] for i in keep), "; ".join(reasons[row_number])]


# Undo lives in its own module; it is part of this service API.
from rapport.ingest.undo import UndoReport as UndoReport  # noqa: E402
from rapport.ingest.undo import import_undo as import_undo  # noqa: E402
from rapport.ingest.undo import import_undo_run as import_undo_run  # noqa: E402
from rapport.ingest.undo import import_undo_start as import_undo_start  # noqa: E402
