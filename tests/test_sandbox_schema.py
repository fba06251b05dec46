"""schemathesis against the sandbox's OpenAPI document, over real HTTP on 127.0.0.1: no
request it generates gets a 5xx or an answer outside the documented schema.

The run is reproducible: hypothesis is derandomized (the same cases every run) with enough
examples per operation to reach the negative cases of each. The Authorization header is the
fixture's own (a session, or the admin token), so schemathesis is told not to generate security
parameters: a case that "violates" the security requirement by leaving the header out would
be sent with the fixture's header anyway and then wrongly counted as accepted invalid data
(that was the ST201 on ``GET /api/v1/admin/outbox``). Requests without, or with a wrong,
Authorization header are tested in ``test_sandbox_security.py`` and
``test_portal_holder.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from kamusm.sandbox import SandboxSettings
from kamusm.sandbox._openapi import openapi_document
from kamusm.testing.sandbox import RunningSandbox, TestHolder, running_sandbox
from kamusm.values import Product

HOLDER = TestHolder.default()
schema = schemathesis.openapi.from_dict(openapi_document(SandboxSettings()))
schema.config.generation.update(with_security_parameters=False)


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    # Generated requests fail logins by the hundred from one address: lift the guessing limit
    # (tested on its own in test_sandbox_security) so the fixture's own login is never 429.
    with running_sandbox(settings=SandboxSettings(max_failures=1_000_000)) as running:
        HOLDER.register(running.portal)
        running.portal.register_card(
            serial="AKIS0000SCHEMA01",
            holder=HOLDER.tckn,
            product=Product.NES,
            so_credential="12121212",
            initial_pin="654321",
        )
        yield running


@pytest.fixture
def headers(sb: RunningSandbox, request: pytest.FixtureRequest) -> dict[str, str]:
    """A fresh holder session for each operation (admin token for the admin paths)."""
    response = httpx.post(
        f"{sb.url}/api/v1/session/edevlet",
        json={"tckn": HOLDER.tckn.value, "password": HOLDER.password},
    )
    token = response.json()["session_token"]
    return {"session": f"Bearer {token}", "admin": f"Bearer {sb.admin_token}"}


def test_the_served_document_is_the_tested_one(sb: RunningSandbox) -> None:
    served = httpx.get(f"{sb.url}/api/v1/openapi.json").json()
    assert served == openapi_document(sb.portal.settings)
    assert served["openapi"].startswith("3.0")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    # The same examples every run (see the module docstring).
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms(case: Any, sb: RunningSandbox, headers: dict[str, str]) -> None:
    auth = headers["admin"] if case.path.startswith("/api/v1/admin") else headers["session"]
    case.call_and_validate(
        base_url=sb.url,
        headers={"Authorization": auth},
        # A wrong SMS code or an expired verification code is schema-valid by nature (it looks
        # exactly like a right one), and refusing it (410, 422) is the contract.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
