"""Property-based run of schemathesis over /api/v1/openapi.json: for every operation,
requests generated from the schema (as an admin, who gets deepest into the code) never
get a 5xx. Derandomised and small (MAX_EXAMPLES per operation) so CI stays fast and
repeatable; raise MINEACTION_FUZZ_EXAMPLES to explore more. The number of cases run is
printed and checked."""

from __future__ import annotations

import os

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

MAX_EXAMPLES = int(os.environ.get("MINEACTION_FUZZ_EXAMPLES", "4"))


def test_no_server_errors(api, capsys) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("admin")
    spec = editor.get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(spec)
    token = editor.http.headers["Authorization"]
    failures: list[str] = []
    cases = 0
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hsettings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck),
                   phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
        def run(case) -> None:  # type: ignore[no-untyped-def]
            nonlocal cases
            cases += 1
            kw = case.as_transport_kwargs(base_url="http://testserver",
                                          headers={"Authorization": token})
            method, url = kw.pop("method"), kw.pop("url")
            if isinstance(kw.get("data"), bytes | str):  # requests style -> httpx
                kw["content"] = kw.pop("data")
            kw.pop("cookies", None)
            kw.pop("timeout", None)
            kw.pop("verify", None)
            kw.pop("allow_redirects", None)
            kw.pop("follow_redirects", None)
            response = editor.request(method, url.replace("http://testserver", ""), **kw)
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code} {response.text[:200]}")

        run()
    with capsys.disabled():
        print(f"\nschemathesis: {cases} cases over {operations} operations, "
              f"{len(failures)} server errors")
    assert operations >= 100 and cases >= operations
    assert not failures, "\n".join(failures[:20])
