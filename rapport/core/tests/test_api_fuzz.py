"""A short fuzzing run over the whole OpenAPI document, in-process: no request gets a 5xx,
and every response matches what the document promises (status code schemas, media types).

`make fuzz` runs thousands of cases against a live server; this run keeps a few hundred
in CI so a regression is caught early.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from rapport.conftest import bearer
from rapport.contacts.tests.factories import employ, make_contact, make_organization

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES_PER_OPERATION = 4


@pytest.fixture
def same_connection() -> Iterator[None]:
    """Requests stay in the test's transaction, as with Django's test client: the WSGI
    handler would otherwise close the connection when each request finishes."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def fuzz_headers(alice, settings) -> dict[str, str]:
    """An admin's token, and a few records for the ids the fuzzer tries (1, 2, …)."""
    settings.RAPPORT_TOKEN_FAILURE_LIMIT = 1_000_000
    org = make_organization(name="Analytical Engines")
    ada = make_contact(given_name="Ada", family_name="Lovelace", tags=["vip"])
    make_contact(given_name="Charles", family_name="Babbage")
    employ(ada, org)
    return {"Authorization": bearer(alice)["HTTP_AUTHORIZATION"]}


@pytest.mark.slow
def test_no_request_gets_a_server_error_or_an_undocumented_answer(fuzz_headers, same_connection):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    failures: list[str] = []
    cases = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal cases
            cases += 1
            # Each request in a savepoint, as each has its own transaction on a server.
            with transaction.atomic():
                response = case.call(headers=fuzz_headers)
            try:
                case.validate_response(response, checks=CHECKS)
            except AssertionError as exc:  # schemathesis' failures are AssertionErrors
                failures.append(f"{case.method} {case.path}: {exc}"[:2000])

        run()
    assert cases >= 150, cases
    assert not failures, "\n\n".join(failures[:10])
