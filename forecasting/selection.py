"""When to reselect ARIMA orders (AutoARIMA) and when to refit stored orders (daily runs).

A series is refitted with the orders of its latest AutoARIMA selection (from
`ops.model_runs`), and backtested with the backtest orders stored with that selection
(`backtest_orders`, chosen on data before that run's first backtest cutoff), unless one of
these asks for a reselection (`selection_reason`):

* ``forced``: the run was started with reselect=True;
* ``initial``: no stored selection exists for the series;
* ``schedule``: the stored selection is `reselect_every_days` or more older than `as_of`;
* ``drift``: (after the refit) the refit's backtest MASE exceeds the MASE recorded at selection
  time by more than `mase_drift_ratio` (relative), see `filter_drifted`.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

DEFAULT_RESELECT_EVERY_DAYS = 7
DEFAULT_MASE_DRIFT_RATIO = 0.2


def with_latest_selection(model_runs_df: DataFrame) -> DataFrame:
    """Latest AutoARIMA selection per series: `unique_id, stored_orders, selected_mase, ...`.

    Rows written before `backtest_orders` existed give null `stored_backtest_orders` (the refit
    then selects its backtest orders itself).
    """
    latest = Window.partitionBy("unique_id").orderBy(
        F.col("training_end_date").desc(), F.col("created_at").desc()
    )
    backtest_orders = (
        F.col("backtest_orders")
        if "backtest_orders" in model_runs_df.columns
        else F.lit(None).cast("string")
    )
    return (
        model_runs_df.where(
            (F.col("model") == "arima")
            & (F.col("selection_mode") == "auto")
            & F.col("orders").isNotNull()
        )
        .withColumn("_rank", F.row_number().over(latest))
        .where(F.col("_rank") == 1)
        .select(
            "unique_id",
            F.col("orders").alias("stored_orders"),
            backtest_orders.alias("stored_backtest_orders"),
            F.col("mase").alias("selected_mase"),
            F.col("training_end_date").alias("selected_on"),
            F.col("run_id").alias("selected_run_id"),
        )
    )


def with_selection_plan(
    series_ids_df: DataFrame,
    latest_selection_df: DataFrame,
    as_of: dt.date,
    reselect: bool | None,
    reselect_every_days: int = DEFAULT_RESELECT_EVERY_DAYS,
) -> DataFrame:
    """Per series: `stored_orders`, `stored_backtest_orders` (null = AutoARIMA), the reason."""
    joined_df = (
        series_ids_df.select("unique_id").distinct().join(latest_selection_df, "unique_id", "left")
    )
    age_days = F.datediff(F.lit(as_of), F.col("selected_on"))
    if reselect is True:
        reason = F.lit("forced")
    else:
        reason = F.when(F.col("stored_orders").isNull(), F.lit("initial"))
        if reselect is None:
            reason = reason.when(age_days >= reselect_every_days, F.lit("schedule"))
        reason = reason.otherwise(F.lit("refit"))
    is_refit = F.col("selection_reason") == "refit"
    return (
        joined_df.withColumn("selection_reason", reason)
        .withColumn("stored_orders", F.when(is_refit, F.col("stored_orders")))
        .withColumn("stored_backtest_orders", F.when(is_refit, F.col("stored_backtest_orders")))
        .select(
            "unique_id",
            "stored_orders",
            "stored_backtest_orders",
            "selected_mase",
            "selection_reason",
        )
    )


def filter_drifted(
    model_results_df: DataFrame, mase_drift_ratio: float = DEFAULT_MASE_DRIFT_RATIO
) -> DataFrame:
    """Refitted ARIMA rows whose backtest MASE drifted above the selection-time MASE."""
    return model_results_df.where(
        (F.col("model") == "arima")
        & (F.col("selection_mode") == "refit")
        & F.col("selected_mase").isNotNull()
        & F.col("mase").isNotNull()
        & (F.col("mase") > F.col("selected_mase") * (1.0 + mase_drift_ratio))
    )
