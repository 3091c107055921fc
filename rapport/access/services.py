"""Writes for users, API tokens and the change history."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from rapport.access.models import ApiToken, AppPassword, ChangeRecord, User
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput

TOKEN_PREFIX = "rpt_"

logger = logging.getLogger(__name__)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it with the secret, which is shown only once."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:12], key_hash=_hash(key)
    )
    return token, key


def token_authenticate(*, key: str) -> User | None:
    """Return the active user owning ``key``, or None for an unknown or revoked token."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def login_lockout_remaining(*, username: str | None, ip_address: str | None) -> timedelta:
    """How long sign-in stays refused for this username or address (zero when it is not).

    Mirrors django-axes' rule: a username, or an address, with AXES_FAILURE_LIMIT failures
    within AXES_COOLOFF_TIME is locked until that time has passed since its last failure.
    """
    cool_off: timedelta = settings.AXES_COOLOFF_TIME
    now = timezone.now()
    recent = AccessAttempt.objects.filter(attempt_time__gte=now - cool_off)
    locks = [Q(username=username)] if username else []
    locks += [Q(ip_address=ip_address)] if ip_address else []
    ends = []
    for who in locks:
        seen = recent.filter(who).aggregate(
            failures=Sum("failures_since_start"), last=Max("attempt_time")
        )
        if (seen["failures"] or 0) >= settings.AXES_FAILURE_LIMIT:
            ends.append(seen["last"] + cool_off)
    return max(ends) - now if ends else timedelta(0)


def minutes_to_wait(wait: timedelta) -> int:
    """A wait as whole minutes, rounded up, at least one."""
    return max(1, math.ceil(wait.total_seconds() / 60))


class TokenThrottled(Exception):
    """Too many failed API token attempts from one address; retry after ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"Too many failed API token attempts from your address. Try again in "
            f"{minutes_to_wait(timedelta(seconds=retry_after))} minute(s)."
        )


def _token_failures_key(ip_address: str) -> str:
    return f"rapport:token-failures:{ip_address}"


def token_check_throttle(*, ip_address: str) -> None:
    """Raise TokenThrottled when this address has used up its budget of bad tokens.

    The budget (RAPPORT_TOKEN_FAILURE_LIMIT within RAPPORT_LOGIN_LOCKOUT_MINUTES) is kept in
    the cache; with the default local-memory cache it is counted per server process.
    """
    if cache.get(_token_failures_key(ip_address), 0) >= settings.RAPPORT_TOKEN_FAILURE_LIMIT:
        raise TokenThrottled(int(settings.AXES_COOLOFF_TIME.total_seconds()))


def _count_failure(key: str) -> int:
    """One more failure under ``key`` in the cache, for the lockout period; the count."""
    timeout = int(settings.AXES_COOLOFF_TIME.total_seconds())
    if cache.add(key, 1, timeout):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout)
        return 1


def token_record_failure(*, ip_address: str) -> None:
    """Count one failed token attempt from this address, and log it."""
    failures = _count_failure(_token_failures_key(ip_address))
    timeout = int(settings.AXES_COOLOFF_TIME.total_seconds())
    logger.warning("API token authentication failed from %s (%d recent)", ip_address, failures)
    if failures == settings.RAPPORT_TOKEN_FAILURE_LIMIT:
        logger.warning("API token attempts from %s refused for %d s", ip_address, timeout)


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


# -- app passwords (address-book clients) -------------------------------------------

# Lower-case letters and digits that cannot be mistaken for one another when typed on a
# phone (no 0/o, 1/l/i); 5 groups of 4: 31**20, about 99 bits.
_APP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_APP_GROUPS = 5


def _app_canonical(secret: str) -> str:
    """``secret`` as stored: lower case, dashes between groups of four, whatever
    spaces or dashes the person typed."""
    chars = [c for c in secret.lower() if c.isalnum()]
    return "-".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4))


@transaction.atomic
def app_password_create(
    *, user: User, name: str = "", scope: str = AppPassword.Scope.CARDDAV
) -> tuple[AppPassword, str]:
    """Create an app password for ``user``; return it with the secret, which is shown
    only once. Raises InvalidInput for a name over 100 characters or an unknown scope."""
    errors = []
    if len(name) > 100:
        errors.append(FieldError("name", "A name can have at most 100 characters."))
    if scope not in AppPassword.Scope.values:
        errors.append(FieldError("scope", f"Must be one of {', '.join(AppPassword.Scope.values)}."))
    if errors:
        raise InvalidInput(errors)
    secret = "-".join(
        "".join(secrets.choice(_APP_ALPHABET) for _ in range(4)) for _ in range(_APP_GROUPS)
    )
    password = AppPassword.objects.create(
        user=user, name=name, scope=scope, prefix=secret[:4], key_hash=_hash(secret)
    )
    return password, secret


def _app_failures_keys(username: str, ip_address: str) -> list[str]:
    digest = hashlib.sha256(username.encode()).hexdigest()[:16]
    return [f"rapport:app-failures:ip:{ip_address}", f"rapport:app-failures:user:{digest}"]


def app_password_check_throttle(*, username: str, ip_address: str) -> None:
    """Raise TokenThrottled when this address, or this username from anywhere, has used
    up its budget of wrong app passwords (RAPPORT_TOKEN_FAILURE_LIMIT within
    RAPPORT_LOGIN_LOCKOUT_MINUTES). The web sign-in has its own count: a phone with an
    old password does not lock its owner out of the browser."""
    limit = settings.RAPPORT_TOKEN_FAILURE_LIMIT
    if any(cache.get(key, 0) >= limit for key in _app_failures_keys(username, ip_address)):
        raise TokenThrottled(int(settings.AXES_COOLOFF_TIME.total_seconds()))


def app_password_authenticate(
    *,
    username: str,
    secret: str,
    scope: str = AppPassword.Scope.CARDDAV,
    ip_address: str = "",
    user_agent: str = "",
) -> tuple[User, AppPassword] | None:
    """The active user named ``username`` and their app password ``secret`` for
    ``scope``; None for anything else (and the failure is counted). Raises
    TokenThrottled for a wrong one when too many failed before (see
    app_password_check_throttle). A right one always works: with about 99 random bits
    it cannot be guessed, and someone trying wrong ones for a user name must not lock
    that user's devices out."""
    found = (
        AppPassword.objects.select_related("user")
        .filter(key_hash=_hash(_app_canonical(secret)), scope=scope, revoked_at__isnull=True)
        .first()
        if secret
        else None
    )
    if found is None or found.user.get_username() != username or not found.user.is_active:
        app_password_check_throttle(username=username, ip_address=ip_address)
        for key in _app_failures_keys(username, ip_address):
            _count_failure(key)
        logger.warning("App password sign-in failed for %r from %s", username[:150], ip_address)
        return None
    now = timezone.now()
    user_agent = user_agent[:200]
    if (
        found.last_used_at is None
        or (now - found.last_used_at).total_seconds() > 60
        or (found.last_ip, found.last_user_agent) != (ip_address, user_agent)
    ):
        AppPassword.objects.filter(pk=found.pk).update(
            last_used_at=now, last_ip=ip_address[:45], last_user_agent=user_agent
        )
    return found.user, found


def app_password_revoke(*, app_password: AppPassword) -> None:
    AppPassword.objects.filter(pk=app_password.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def change_record(
    *,
    actor: Any,
    object_type: str,
    object_id: int,
    object_repr: str,
    action: str,
    changes: dict[str, Any],
    via: str = "ui",
) -> ChangeRecord:
    """Append one entry to the change history (called by every write service)."""
    return ChangeRecord.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:300],
        action=action,
        changes=changes,
        via=via,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs, as ``{field: [old, new]}``."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if _blank(before.get(key)) != _blank(after.get(key))
    }


def _blank(value: Any) -> Any:
    return None if value in ("", [], {}, None) else value


_USERNAME = re.compile(r"^[\w.@+-]{1,150}$")


def _check_role(c: list[FieldError], role: str) -> None:
    if role not in User.Role.values:
        c.append(FieldError("role", f"Must be one of: {', '.join(User.Role.values)}."))


def _keeps_an_admin(user: User, *, role: str, is_active: bool) -> bool:
    """False when the change would leave no active admin to manage the workspace."""
    if role == User.Role.ADMIN and is_active:
        return True
    others = User.objects.filter(is_active=True).exclude(pk=user.pk)
    return others.filter(role=User.Role.ADMIN).exists() or others.filter(is_superuser=True).exists()


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    role: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
) -> tuple[User, str]:
    """Add a user; return it with its password (generated when not given, shown once).

    Raises NotPermitted (admins only) or InvalidInput naming each bad field.
    """
    policy.require(actor, "users.manage")
    errors: list[FieldError] = []
    username = (username or "").strip()
    if not _USERNAME.match(username):
        errors.append(
            FieldError("username", "Use up to 150 letters, digits and . @ + - _ characters.")
        )
    elif User.objects.filter(username__iexact=username).exists():
        errors.append(FieldError("username", f"The username “{username}” is taken."))
    _check_role(errors, role)
    if email:
        from email_validator import EmailNotValidError, validate_email

        try:
            email = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors.append(FieldError("email", str(exc)))
    generated = password is None or password == ""
    secret = secrets.token_urlsafe(12) if generated else str(password)
    if not generated:
        try:
            validate_password(secret, User(username=username, email=email))
        except DjangoValidationError as exc:
            errors += [FieldError("password", message) for message in exc.messages]
    if errors:
        raise InvalidInput(errors)
    user = User.objects.create_user(
        username=username,
        password=secret,
        email=email,
        role=role,
        first_name=first_name.strip()[:150],
        last_name=last_name.strip()[:150],
    )
    return user, secret


@transaction.atomic
def user_update(
    *, actor: Any, user: User, role: str | None = None, is_active: bool | None = None
) -> User:
    """Change a user's role or switch them off; the last active admin always stays."""
    policy.require(actor, "users.manage")
    errors: list[FieldError] = []
    new_role = user.role if role is None else role
    new_active = user.is_active if is_active is None else is_active
    _check_role(errors, new_role)
    if not errors and not _keeps_an_admin(user, role=new_role, is_active=new_active):
        errors.append(FieldError("role", "At least one active admin must remain."))
    if errors:
        raise InvalidInput(errors)
    user.role = new_role
    user.is_active = new_active
    user.save(update_fields=["role", "is_active"])
    if not new_active:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        AppPassword.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    return user


@transaction.atomic
def user_set_password(*, actor: Any, user: User, password: str) -> None:
    """Set a user's password (admins, or the user themself). Raises InvalidInput if weak."""
    if getattr(actor, "pk", None) != user.pk:
        policy.require(actor, "users.manage")
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput([FieldError("password", m) for m in exc.messages]) from None
    user.set_password(password)
    user.save(update_fields=["password"])
