"""How the harness asks hypothesis for cases: one place for the settings every run shares."""

from __future__ import annotations

from typing import Any

import hypothesis


def quiet_settings(max_examples: int, **extra: Any) -> hypothesis.settings:
    """Generate only (no shrinking, no example database, no deadline, no health checks, no
    output): the harness reports failures itself and a run is reproduced by its seed."""
    return hypothesis.settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
        print_blob=False,
        **extra,
    )
