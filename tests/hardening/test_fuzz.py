"""Schemathesis against the app's own OpenAPI document, in-process through the WSGI app.

Every operation the document lists is fuzzed once per role: anonymously, and
signed in as a customer (the buyer who holds things), the venue's staff, the
event's organizer and an admin, so requests get past the role gates into the
code behind them. Each run has a fixed number of examples per operation (more
for operations that take a time, a few where an anonymous caller can only get
401), so it is bounded.
Operations with a body, query or headers also get schema-invalid requests,
which must be refused with a 4xx. Path parameters are sometimes swapped for
ids of a real venue, event, ticket type, hold, order, ticket, discount code
or user. Times are drawn with the calendar's first and last days in any
offset as likely as any other (tests/hardening/strategies.py). Each response
must be documented: no 5xx, a success status the operation lists itself (not
via ``default``), an error status from the error vocabulary, and a body valid
against the documented schema. Each run counts, and must reach, the
boundary values that break APIs: times at the calendar's ends, integers
beyond 2**53, non-ASCII text and nesting; the counts are printed at the end.
"""
import re
from collections import Counter
from datetime import datetime, timezone

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Config, GenerationMode

from tests.hardening.inputs import documented_inputs
from tests.hardening.strategies import SPILLING_TIMES, TIMES, at_the_calendars_ends

MAX_EXAMPLES = 8
# Operations that take a time get more: their other parameters often fail validation first, and a time
# that spills out of UTC must still be reached in every run.
TIME_EXAMPLES = 30
# Anonymously, an operation that needs a token answers 401 before it reads anything: a few cases show it.
GATED_EXAMPLES = 3
ERROR_STATUSES = {400, 401, 403, 404, 405, 409, 413, 415, 422, 429}
ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# A role each, as the world's users: the customer who holds things, the venue's staff, the event's organizer.
ROLES = ("anonymous", "buyer", "venue_staff", "owner", "admin")
BOUNDARIES = ("time at the calendar's ends", "integer beyond 2**53", "non-ASCII text", "nesting 3 deep")
# The default date-time strategy seldom leaves the present centuries. Half the times here spill out of
# UTC's years (the class of issue 14's 500s), a quarter lie anywhere in the calendar in any offset, a
# quarter near now, so that requests also get past validation.
schemathesis.openapi.format("date-time", st.one_of(
    SPILLING_TIMES, SPILLING_TIMES, TIMES,
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)),
).map(datetime.isoformat))


@pytest.fixture(params=ROLES)
def fuzz_run(request, world, fuzz_stats):
    stats = fuzz_stats[f"schemathesis {request.param}"] = {
        "cases": 0, "operations": set(), "documented": 0, "statuses": Counter(), "boundaries": Counter()}
    role = request.param
    erasable = world.make_user(world.users[role].role) if world.users[role] else None
    return {"name": role, "stats": stats, "headers": world.headers(role), "erasable": erasable}


def load_schema(world):
    world.seed_purchases()
    config = Config.from_dict({
        "generation": {"deterministic": True},
        # Schema-valid requests that break a business rule (a forged cursor, ends_at before starts_at)
        # are rightly refused; the other checks still hold every answer to the document.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", world.app, config=config)
    real_ids = {name: values for name, values in world.ids().items() if values}

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        if not path_parameters:
            return st.just(path_parameters)
        return st.fixed_dictionaries({
            name: st.sampled_from([value, *real_ids[name]]) if name in real_ids else st.just(value)
            for name, value in path_parameters.items()
        })

    return schema


def documented_statuses(operation):
    return {str(code) for code in operation.definition.raw.get("responses", {})}


def strict_status(ctx, response, case):
    """The ``default`` response documents any status; hold the API to its own vocabulary instead."""
    status = response.status_code
    if status >= 500:
        assert str(status) in documented_statuses(case.operation), f"undocumented server error {status}"
    elif status < 400:
        assert str(status) in documented_statuses(case.operation), (
            f"{status} is not a success status this operation documents")
    else:
        assert status in ERROR_STATUSES, f"{status} is outside the error vocabulary"
        error = response.json()["error"]
        assert ERROR_CODE.match(error["code"]), error
        assert error["request_id"], error


def _boundaries(value, depth=0):
    """The boundary classes a generated value reaches."""
    found = set()
    if depth >= 3:
        found.add("nesting 3 deep")
    if isinstance(value, dict):
        value = list(value.keys()) + list(value.values())
    if isinstance(value, list):
        for item in value:
            found |= _boundaries(item, depth + 1)
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int) and abs(value) > 2 ** 53:
        found.add("integer beyond 2**53")
    elif isinstance(value, str):
        if not value.isascii():
            found.add("non-ASCII text")
        try:
            if at_the_calendars_ends(datetime.fromisoformat(value)):
                found.add("time at the calendar's ends")
        except ValueError:
            pass
    return found


def _reached(case):
    found = set()
    for part in (case.body, case.query, case.path_parameters):
        if isinstance(part, (dict, list)):
            found |= _boundaries(part, -1)
    return found


def fuzz_operation(operation, mode, run, examples):
    stats = run["stats"]
    headers = dict(run["headers"])
    if run["erasable"] and operation.label == "DELETE /api/v1/users/me":
        # Erasing the run's own user would turn the rest of the run into 401s.
        headers = run["erasable"].headers

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(headers=headers)
        stats["cases"] += 1
        stats["operations"].add(operation.label)
        stats["statuses"][response.status_code] += 1
        stats["boundaries"].update(_reached(case))
        case.validate_response(response, headers=headers, additional_checks=[strict_status])

    check()


def modes_for(operation):
    # Free-form string path parameters cannot be made invalid; without a body, query or headers there is
    # nothing for negative generation to break, and Hypothesis would spend seconds proving it.
    if operation.body or operation.query or operation.headers:
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


def test_every_operation_answers_as_documented(world, fuzz_run):
    schema = load_schema(world)
    operations = [result.ok() for result in schema.get_all_operations()]
    fuzz_run["stats"]["documented"] = len(operations)
    taking_times = {label.rsplit(" ", 2)[0] for label, kind in documented_inputs(world.client).items()
                    if kind == "time"}
    failures = []
    for operation in operations:
        if fuzz_run["name"] == "anonymous" and operation.definition.raw.get("security"):
            examples = GATED_EXAMPLES
        elif operation.label in taking_times:
            examples = TIME_EXAMPLES
        else:
            examples = MAX_EXAMPLES
        for mode in modes_for(operation):
            try:
                fuzz_operation(operation, mode, fuzz_run, examples)
            except Unsatisfiable:
                # Nothing to make invalid: only free-form string path parameters.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # every operation runs; failures are reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    assert fuzz_run["stats"]["operations"] == {operation.label for operation in operations}
    assert set(fuzz_run["stats"]["boundaries"]) == set(BOUNDARIES), fuzz_run["stats"]["boundaries"]
