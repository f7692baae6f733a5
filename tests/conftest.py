"""Shared pytest setup: the hypothesis profiles. (The repository root and tests/ are put on
the import path by pytest.ini's ``pythonpath``, not here.)"""
import os

# Property-based fuzzing of the readers (tests/test_fuzz.py): a few seconds in `make test`,
# many more examples with `make fuzz` (HYPOTHESIS_PROFILE=fuzz). Derandomized: same examples each run.
try:
    from hypothesis import HealthCheck, settings
except ImportError:          # pragma: no cover - hypothesis is in requirements.txt
    pass
else:
    common = dict(derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    settings.register_profile("ci", max_examples=60, **common)
    settings.register_profile("fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "5000")), **common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
