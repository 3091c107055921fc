from __future__ import annotations

import pytest

from rapport.core import policy
from rapport.core.errors import NotPermitted


def test_admins_may_do_everything(alice):
    assert all(policy.can(alice, action) for action in policy.ACTIONS)


def test_members_read_and_write_records_but_not_settings(bob):
    assert policy.can(bob, "contacts.change")
    assert policy.can(bob, "organizations.delete")
    assert not policy.can(bob, "custom_fields.manage")
    assert not policy.can(bob, "users.manage")


def test_read_only_users_only_read(charlie):
    assert policy.can(charlie, "contacts.view")
    assert not policy.can(charlie, "contacts.add")
    with pytest.raises(NotPermitted):
        policy.require(charlie, "contacts.delete")


def test_anonymous_and_inactive_users_may_do_nothing(bob):
    from django.contrib.auth.models import AnonymousUser

    assert not policy.can(AnonymousUser(), "contacts.view")
    bob.is_active = False
    assert not policy.can(bob, "contacts.view")


def test_an_unknown_action_is_a_programming_error(bob):
    with pytest.raises(ValueError):
        policy.can(bob, "contacts.fly")
