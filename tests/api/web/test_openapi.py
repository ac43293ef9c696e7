"""A bounded property-based run against the OpenAPI schema (schemathesis): whatever the input,
the server answers as documented and never with a 5xx.

Schemathesis is driven through its Python API (a schema loaded from the ASGI app, one Hypothesis
strategy per operation) inside ordinary pytest tests, not through its pytest plugin
(``schemathesis.pytest.from_fixture``): the plugin reaches into pytest's internals and broke
with pytest 9 (``'Function' object has no attribute '_nodeid'``), which a fresh install resolves.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import ServerError
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.web.app import create_app
from tests.api.network import EXAMINER, open_network

pytestmark = pytest.mark.slow

#: requests per operation, schema-valid and schema-invalid ones drawn at random
MAX_EXAMPLES = 16


def _operation_labels() -> list[str]:
    """``METHOD /path`` of every operation the application documents.

    Read at collection from an application that is built but never started (no store is opened
    before the lifespan), so that each operation is a test of its own.
    """
    schema = schemathesis.openapi.from_dict(create_app().openapi())
    return [result.ok().label for result in schema.get_all_operations()]


@pytest.fixture(scope="module")
def api_network(tmp_path_factory, exhibit_files, prepared_scans):
    yield from open_network(
        tmp_path_factory.mktemp("openapi") / "store", exhibit_files, prepared=prepared_scans
    )


@pytest.fixture(scope="module")
def api_schema(api_network):
    return schemathesis.openapi.from_asgi("/openapi.json", api_network.client.app)


def test_every_operation_is_tested(api_schema):
    # the labels read at collection are those the running application serves
    served = [result.ok().label for result in api_schema.get_all_operations()]
    assert served == _operation_labels()
    assert served, "the application documents no operation"


def check_operation(operation, headers: dict[str, str]) -> None:
    """Send ``MAX_EXAMPLES`` requests, schema-valid and schema-invalid, to ``operation``; raise
    on the first answer that is a 5xx or that the schema does not describe."""
    # the credentials are fixed, not generated: a negative case that only lacks the key would
    # be sent with it and then be "schema-violating data accepted"
    cases = st.one_of(
        operation.as_strategy(generation_mode=mode, headers=headers)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    )

    # no example database: every operation's run shares this function's name
    @given(case=cases)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def answers_as_documented(case):
        # excluded: "schema-valid data is accepted". A file is schema-valid as any bytes, and the
        # engine rightly refuses bytes that are no scan (415) or hold no usable mark (422).
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    answers_as_documented()


@pytest.mark.parametrize("label", _operation_labels())
def test_the_api_answers_as_its_schema_says(label, api_schema, api_network):
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served schema"
    check_operation(operation, {"X-API-Key": api_network.keys[EXAMINER]})


def test_a_server_error_fails_the_check():
    # the check is not vacuous: an operation that answers 500 is caught
    app = FastAPI()

    @app.get("/broken")
    def broken(number: int) -> JSONResponse:
        return JSONResponse({"detail": f"broken on {number}"}, status_code=500)

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema.find_operation_by_label("GET /broken")
    with pytest.raises((AssertionError, FailureGroup)) as caught:
        check_operation(operation, {})
    # one failed check is raised as itself, several as a group
    failures = caught.value.exceptions if isinstance(caught.value, FailureGroup) else [caught.value]
    assert any(isinstance(failure, ServerError) for failure in failures), caught.value
