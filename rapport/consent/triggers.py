"""The database triggers that make the ledger append-only, for SQLite and PostgreSQL.

Created by migration 0002; tests that tamper with the ledger on purpose drop them with
``drop_sql`` (inside their transaction) to show that ``rapport consent verify`` then
finds the change.
"""

from __future__ import annotations

# Table -> what a refused statement says it is.
PROTECTED = {
    "consent_consentevent": "consent ledger rows",
    "consent_consenttext": "consent texts",
}


def _message(what: str, verb: str) -> str:
    return (
        f"The consent ledger is append-only: {what} cannot be {verb} (record a new event instead)."
    )


def install_sql(vendor: str) -> list[str]:
    """Statements creating the triggers on ``vendor`` ("sqlite" or "postgresql")."""
    statements: list[str] = []
    if vendor == "postgresql":
        statements.append(
            """
            CREATE OR REPLACE FUNCTION consent_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION USING
                    ERRCODE = 'restrict_violation',
                    MESSAGE = TG_ARGV[0];
            END;
            $$
            """
        )
    for table, what in PROTECTED.items():
        for op, verb in (("UPDATE", "changed"), ("DELETE", "deleted")):
            name = f"{table}_no_{op.lower()}"
            message = _message(what, verb)
            if vendor == "postgresql":
                statements.append(
                    f"CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW "
                    f"EXECUTE FUNCTION consent_refuse_change('{message}')"
                )
            elif vendor == "sqlite":
                statements.append(
                    f"CREATE TRIGGER {name} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            else:
                raise NotImplementedError(f"No append-only triggers for {vendor}.")
    return statements


def drop_sql(vendor: str) -> list[str]:
    """Statements removing the triggers (migrating backwards; tamper tests)."""
    statements = []
    for table in PROTECTED:
        for op in ("update", "delete"):
            if vendor == "postgresql":
                statements.append(f"DROP TRIGGER IF EXISTS {table}_no_{op} ON {table}")
            else:
                statements.append(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
    if vendor == "postgresql":
        statements.append("DROP FUNCTION IF EXISTS consent_refuse_change()")
    return statements
