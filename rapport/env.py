"""Small, tested parsers for configuration taken from the environment.

Every setting comes from an environment variable; secrets may also be given as
``NAME_FILE`` pointing at a file that holds the value.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def env_str(name: str, default: str = "") -> str:
    """Return ``$NAME``, else the contents of ``$NAME_FILE``, else ``default``."""
    value = os.environ.get(name)
    if value is not None:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return default


def env_bool(name: str, default: bool = False) -> str | bool:
    raw = env_str(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = env_str(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def env_probability(name: str, default: float) -> float:
    """A probability given as 0.95 or as a percentage (95%)."""
    raw = env_str(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a probability such as 0.95, not {raw!r}") from None
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be above 0 and at most 1, not {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name, "")
    if not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def persistent_secret_key(data_dir: Path) -> str:
    """Return ``SECRET_KEY`` or a key generated once and kept in the data directory."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key
