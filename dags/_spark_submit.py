"""SparkSubmitOperator for the finlake jobs: the driver's exit code decides the task outcome.

Imported only by the `spark_submit` runner (`_common.job_task`), so deployments without the
Spark provider parse the DAGs fine. In client mode spark-submit exits with the Python driver's
code, which `check_exit_code` maps like the local runner: 2 (usage) and 4 (critical DQ gate)
fail without retry, `skip_codes` skip, anything else is retried.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from _common import EXIT_DQ_CRITICAL, EXIT_USAGE, check_exit_code
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator


class JobSparkSubmitOperator(SparkSubmitOperator):
    """`spark-submit jobs/<job>.py` with finlake's exit-code semantics."""

    def __init__(self, *, skip_codes: Collection[int] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.skip_codes = tuple(skip_codes)

    def execute(self, context: Any) -> None:
        """Submit and wait; map a non-zero exit code to fail / skip / retry."""
        try:
            super().execute(context)
        except Exception as exc:
            process = getattr(self._hook, "_submit_sp", None)
            code = getattr(process, "returncode", None)
            if code in (EXIT_USAGE, EXIT_DQ_CRITICAL, *self.skip_codes):
                check_exit_code(self.application, code, str(exc)[-300:], self.skip_codes)
            raise
