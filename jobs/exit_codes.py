"""Exit codes shared by every finlake job, the `finlake` CLI and the Airflow DAGs.

The DAGs (which import nothing of ours) keep a copy in `dags/_common.py`; a test keeps the two
equal. A DQ failure has its own code so an orchestrator never alerts "data quality" on a typo.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # any other failure (transient or a bug): retried by the DAGs
EXIT_USAGE = 2  # bad arguments or configuration (argparse's own code): never retried
EXIT_UNAVAILABLE = 3  # a soft dependency is down (Trino, the landing store)
EXIT_DQ_CRITICAL = 4  # a critical data-quality gate failed: never retried, rerunning won't fix it
