from __future__ import annotations

import pytest

from rapport.env import env_bool, env_int, env_list, env_str, persistent_secret_key


def test_it_reads_a_secret_from_a_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("API_KEY_FILE", str(secret))
    assert env_str("API_KEY") == "s3cret"


def test_booleans_and_numbers_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ValueError, match="FLAG"):
        env_bool("FLAG")
    monkeypatch.setenv("N", "x")
    with pytest.raises(ValueError, match="N must be a whole number"):
        env_int("N", 1)
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_a_generated_secret_key_is_kept_across_restarts(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = persistent_secret_key(tmp_path)
    assert persistent_secret_key(tmp_path) == first
    assert len(first) > 40
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
