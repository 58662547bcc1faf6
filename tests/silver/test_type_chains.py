"""Silver's concurrent event-type chains: every type exactly once, dependencies kept in order."""

from __future__ import annotations

from jobs.silver_job import TYPE_CHAINS
from silver.events import SILVER_TYPES


def test_every_event_type_is_in_exactly_one_chain() -> None:
    chained = [name for chain in TYPE_CHAINS for name in chain]
    assert sorted(chained) == sorted(spec.event_type for spec in SILVER_TYPES)
    assert len(chained) == len(set(chained))


def test_payment_runs_after_subscription_on_the_same_thread() -> None:
    # payments are checked against the customers of the subscriptions this run appended
    (chain,) = [c for c in TYPE_CHAINS if "payment" in c]
    assert chain.index("subscription") < chain.index("payment")
