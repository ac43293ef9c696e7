"""A bounded property-based run against the OpenAPI schema (schemathesis): whatever the input,
the server answers as documented and never with a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.web.conftest import EXAMINER, open_network

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_network(tmp_path_factory, exhibit_files):
    yield from open_network(tmp_path_factory.mktemp("openapi") / "store", exhibit_files)


@pytest.fixture(scope="module")
def api_schema(api_network):
    return schemathesis.openapi.from_asgi("/openapi.json", api_network.client.app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_its_schema_says(case, api_network):
    # excluded: "schema-valid data is accepted". A file is schema-valid as any bytes, and the
    # engine rightly refuses bytes that are no scan (415) or hold no usable mark (422).
    case.call_and_validate(
        headers={"X-API-Key": api_network.keys[EXAMINER]},
        excluded_checks=[positive_data_acceptance],
    )
