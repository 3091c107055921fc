"""How the current state follows from the ledger: pure functions over a person's rows.

The rules (docs/consent.md, "How the state is derived"):

- Rows count in the order the person gave them (``given_at``; rows given at the same
  moment: grants first, then expiries, withdrawals and objections, so the least
  permissive is the last word).
- A double opt-in request (a grant that ``needs_confirmation``) counts only once a
  ``confirm`` row names it; the confirmation then counts as the grant, from its own
  time. Until then the state is "awaiting confirmation", and only where nothing else
  was recorded: an unconfirmed request never weakens or replaces what is there.
- Scopes: a row is about every channel (no channel), one channel, or one contact
  point of a channel (an address). A question about a channel looks at the rows for
  every channel and for that channel (the channel-wide line), and at each of its
  contact points with rows of their own (each point's line includes the wider rows).
  On each line the latest row is the person's word. Across lines the least permissive
  wins: one withdrawn line makes the channel withdrawn; otherwise one granted line
  makes it granted; otherwise expired.
- An objection is about the whole purpose and beats every line until it is lifted.
- Contact-wide: restriction of processing and objection to direct marketing are in
  force from the latest "restrict"/"object_marketing" until a later lift.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapport.consent.vocabulary import CHANNELS, Action, Status

# Among rows given at the same moment, the later in this order is the last word.
_RANK = {
    Action.GRANT: 0,
    Action.CONFIRM: 0,
    Action.LIFT_OBJECTION: 0,
    Action.LIFT_RESTRICTION: 0,
    Action.LIFT_MARKETING_OBJECTION: 0,
    Action.EXPIRE: 1,
    Action.WITHDRAW: 2,
    Action.OBJECT: 3,
    Action.RESTRICT: 3,
    Action.OBJECT_MARKETING: 3,
}
_LINE_STATUS = {
    Action.GRANT: Status.GRANTED,
    Action.CONFIRM: Status.GRANTED,
    Action.WITHDRAW: Status.WITHDRAWN,
    Action.EXPIRE: Status.EXPIRED,
}


@dataclass(frozen=True)
class Fact:
    """What derivation needs of one ledger row."""

    id: int
    seq: int
    action: str
    channel: str
    point_key: str
    given_at: dt.datetime
    valid_until: dt.datetime | None = None
    needs_confirmation: bool = False
    confirms_id: int | None = None

    @property
    def order(self) -> tuple[dt.datetime, int, int]:
        return (self.given_at, _RANK.get(Action(self.action), 0), self.seq)


@dataclass(frozen=True)
class ChannelState:
    """The state of one channel: ``since`` the deciding row (``event_id``) was given."""

    status: str
    since: dt.datetime
    event_id: int
    valid_until: dt.datetime | None = None


@dataclass(frozen=True)
class Line:
    """One line a channel's state is read from: channel-wide (``point_key`` empty) or
    one contact point, with its latest row."""

    channel: str
    point_key: str
    status: str
    fact: Fact


@dataclass(frozen=True)
class ContactWide:
    restricted: Fact | None = None
    marketing_objection: Fact | None = None


def _in_effect(facts: Iterable[Fact]) -> tuple[list[Fact], list[Fact]]:
    """The rows that count (sorted) and the unconfirmed double opt-in requests."""
    facts = list(facts)
    confirmed = {f.confirms_id for f in facts if f.action == Action.CONFIRM}
    counting: list[Fact] = []
    pending: list[Fact] = []
    for fact in facts:
        if fact.action == Action.GRANT and fact.needs_confirmation:
            if fact.id not in confirmed:
                pending.append(fact)
            continue
        counting.append(fact)
    counting.sort(key=lambda f: f.order)
    pending.sort(key=lambda f: f.order)
    return counting, pending


def objection(facts: Sequence[Fact]) -> Fact | None:
    """The objection to the purpose in force, if any (``facts`` sorted)."""
    last = None
    for fact in facts:
        if fact.action in (Action.OBJECT, Action.LIFT_OBJECTION):
            last = fact
    return last if last is not None and last.action == Action.OBJECT else None


def lines(facts: Sequence[Fact], channel: str) -> list[Line]:
    """Every line of ``channel`` that has a row (``facts`` sorted)."""
    consent = [f for f in facts if f.action in _LINE_STATUS]
    wide = [f for f in consent if f.channel == "" or (f.channel == channel and not f.point_key)]
    by_point: dict[str, list[Fact]] = defaultdict(list)
    for fact in consent:
        if fact.channel == channel and fact.point_key:
            by_point[fact.point_key].append(fact)
    found = []
    if wide:
        found.append(Line(channel, "", _LINE_STATUS[Action(wide[-1].action)], wide[-1]))
    for point, own in by_point.items():
        last = max([*wide, *own], key=lambda f: f.order)
        found.append(Line(channel, point, _LINE_STATUS[Action(last.action)], last))
    return found


def _combine(found: list[Line]) -> ChannelState | None:
    def latest(status: str) -> Fact | None:
        matching = [line.fact for line in found if line.status == status]
        return max(matching, key=lambda f: f.order) if matching else None

    for status in (Status.WITHDRAWN, Status.GRANTED, Status.EXPIRED):
        fact = latest(status)
        if fact is not None:
            until = fact.valid_until if status == Status.GRANTED else None
            return ChannelState(status, fact.given_at, fact.id, until)
    return None


def purpose_state(facts: Iterable[Fact]) -> dict[str, ChannelState]:
    """Channel -> state for one person and one purpose; channels with nothing
    recorded are left out."""
    counting, pending = _in_effect(facts)
    objected = objection(counting)
    states: dict[str, ChannelState] = {}
    for channel in CHANNELS:
        if objected is not None:
            states[channel] = ChannelState(Status.OBJECTED, objected.given_at, objected.id)
            continue
        combined = _combine(lines(counting, channel))
        if combined is not None:
            states[channel] = combined
            continue
        waiting = [f for f in pending if f.channel in ("", channel)]
        if waiting:
            states[channel] = ChannelState(Status.PENDING, waiting[-1].given_at, waiting[-1].id)
    return states


def contact_state(facts: Iterable[Fact]) -> ContactWide:
    """Restriction and objection to direct marketing in force for one person."""
    restricted = marketing = None
    for fact in sorted(facts, key=lambda f: f.order):
        if fact.action == Action.RESTRICT:
            restricted = fact
        elif fact.action == Action.LIFT_RESTRICTION:
            restricted = None
        elif fact.action == Action.OBJECT_MARKETING:
            marketing = fact
        elif fact.action == Action.LIFT_MARKETING_OBJECTION:
            marketing = None
    return ContactWide(restricted, marketing)


def pending_requests(facts: Iterable[Fact]) -> list[Fact]:
    """Double opt-in requests not confirmed (yet)."""
    return _in_effect(facts)[1]
