"""Data-quality alerts: one `Alert` record, sinks chosen by `settings.alert_sink`.

Every alert is written as one structured JSON log line at ERROR (the audit trail), then
delivered to the configured sink: `log` (nothing more), `webhook` (Slack-compatible JSON POST,
retried) or `smtp` (plain-text email). Delivery failures are logged, never raised: an alert
must not turn a finished job into a failed one.
"""

from __future__ import annotations

import argparse
import json
import logging
import smtplib
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from conf.settings import Settings, get_settings
from silver.dq import DQResult, Severity

log = logging.getLogger("finlake.alerts")

WEBHOOK_TIMEOUT_S = 5.0
WEBHOOK_RETRIES = 2
WEBHOOK_BACKOFF_S = 0.5
SMTP_TIMEOUT_S = 10.0
MAX_LISTED_FAILURES = 20
_SEVERITY_ORDER: dict[str, int] = {"critical": 0, "quarantine": 1, "warn": 2}


@dataclass(frozen=True)
class Alert:
    """A data-quality alert about one run (and one table, or several as `*`)."""

    title: str
    severity: Severity
    run_id: str
    table: str
    failures: list[DQResult] = field(default_factory=list)
    link: str | None = None

    def summary_lines(self) -> list[str]:
        """One human line per failure (capped), most severe first."""
        lines = []
        for f in self.failures[:MAX_LISTED_FAILURES]:
            counts = ""
            if f.failed_rows is not None:
                counts = f" ({f.failed_rows} of {f.rows_checked} rows)"
            elif f.observed_value is not None:
                counts = f" (observed {f.observed_value})"
            lines.append(f"[{f.severity}] {f.table_name} {f.rule_name}{counts}")
        if len(self.failures) > MAX_LISTED_FAILURES:
            lines.append(f"... and {len(self.failures) - MAX_LISTED_FAILURES} more")
        return lines


def alert_from_failures(failures: list[DQResult], run_id: str, link: str | None) -> Alert:
    """Alert summarising failed DQ results (passed results are ignored)."""
    failed = sorted(
        (f for f in failures if f.status == "failed"),
        key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.table_name, f.rule_name),
    )
    tables = sorted({f.table_name for f in failed})
    severity: Severity = failed[0].severity if failed else "warn"
    by_severity = Counter(f.severity for f in failed)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(by_severity.items(), key=_severity_key))
    where = tables[0] if len(tables) == 1 else f"{len(tables)} tables"
    title = f"finlake DQ {severity}: {len(failed)} failed check(s) on {where} ({counts or 'none'})"
    return Alert(
        title=title,
        severity=severity,
        run_id=run_id,
        table=tables[0] if len(tables) == 1 else "*",
        failures=failed,
        link=link,
    )


def _severity_key(item: tuple[str, int]) -> int:
    return _SEVERITY_ORDER.get(item[0], 9)


def send_alert(settings: Settings, alert: Alert) -> None:
    """Log the alert and deliver it to `settings.alert_sink`; never raises on sink failure."""
    log.error(alert.title, extra={"alert": alert_record(alert), "alert_sink": settings.alert_sink})
    try:
        if settings.alert_sink == "webhook":
            _send_webhook(settings, alert)
        elif settings.alert_sink == "smtp":
            _send_smtp(settings, alert)
    except Exception as exc:
        log.error(
            "alert delivery failed",
            extra={
                "alert_sink": settings.alert_sink,
                "error": repr(exc),
                "alert_run": alert.run_id,
            },
        )


def alert_record(alert: Alert) -> dict[str, Any]:
    """JSON-ready view of an alert (failures without their long details)."""
    return {
        "title": alert.title,
        "severity": alert.severity,
        "run_id": alert.run_id,
        "table": alert.table,
        "link": alert.link,
        "failures": [
            {
                "table_name": f.table_name,
                "rule_name": f.rule_name,
                "severity": f.severity,
                "check_kind": f.check_kind,
                "rows_checked": f.rows_checked,
                "failed_rows": f.failed_rows,
                "observed_value": f.observed_value,
            }
            for f in alert.failures
        ],
    }


def slack_body(alert: Alert) -> dict[str, Any]:
    """Slack-compatible webhook body: `text` fallback plus Block Kit `blocks`."""
    fields = [
        {"type": "mrkdwn", "text": f"*Run*\n`{alert.run_id}`"},
        {"type": "mrkdwn", "text": f"*Table*\n{alert.table}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
        {"type": "mrkdwn", "text": f"*Failed checks*\n{len(alert.failures)}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
        {"type": "section", "fields": fields},
    ]
    lines = alert.summary_lines()
    if lines:
        text = "\n".join(f"• {line}" for line in lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}})
    if alert.link:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Data Docs: {alert.link}"}],
            }
        )
    return {"text": f"{alert.title} (run {alert.run_id})", "blocks": blocks}


def _send_webhook(
    settings: Settings,
    alert: Alert,
    retries: int = WEBHOOK_RETRIES,
    backoff_s: float = WEBHOOK_BACKOFF_S,
    timeout_s: float = WEBHOOK_TIMEOUT_S,
) -> None:
    """POST the Slack body; retry connection errors, 429 and 5xx with exponential backoff."""
    if not settings.alert_webhook_url:
        raise ValueError("alert_sink is 'webhook' but alert_webhook_url is not set")
    data = json.dumps(slack_body(alert)).encode()
    last_error = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        request = urllib.request.Request(
            settings.alert_webhook_url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "finlake-alerts"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
            log.info("alert delivered", extra={"alert_sink": "webhook", "attempt": attempt + 1})
            return
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}"
            if exc.code != 429 and exc.code < 500:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            last_error = repr(exc)
    raise RuntimeError(f"webhook delivery failed after {attempt + 1} attempt(s): {last_error}")


def _send_smtp(settings: Settings, alert: Alert, timeout_s: float = SMTP_TIMEOUT_S) -> None:
    """Send the alert as a plain-text email through `alert_smtp_host:alert_smtp_port`."""
    domain = settings.alert_email_to.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = alert.title
    message["From"] = f"finlake-alerts@{domain}"
    message["To"] = settings.alert_email_to
    body = [
        alert.title,
        "",
        f"run: {alert.run_id}",
        f"table: {alert.table}",
        f"severity: {alert.severity}",
        "",
        *alert.summary_lines(),
    ]
    if alert.link:
        body += ["", f"Data Docs: {alert.link}"]
    message.set_content("\n".join(body) + "\n")
    with smtplib.SMTP(
        settings.alert_smtp_host, settings.alert_smtp_port, timeout=timeout_s
    ) as smtp:
        smtp.send_message(message)
    log.info("alert delivered", extra={"alert_sink": "smtp", "to": settings.alert_email_to})


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m jobs.alerts --title T --run-id R [...]`: send one alert to the settings' sink.

    Used by orchestrators (the Airflow DAGs' on-failure callback) so that a failed task reaches
    the same sinks as Silver's critical gate. Exit 0 even when delivery fails (logged).
    """
    from jobs.observability import configure_logging

    configure_logging()
    parser = argparse.ArgumentParser(prog="python -m jobs.alerts", description=main.__doc__)
    parser.add_argument("--title", required=True)
    parser.add_argument("--run-id", required=True, help="run the alert is about")
    parser.add_argument("--table", default="*", help="table or task concerned")
    parser.add_argument("--severity", choices=sorted(_SEVERITY_ORDER), default="critical")
    parser.add_argument("--link", default=None, help="where to look (logs, Data Docs)")
    args = parser.parse_args(argv)
    severity: Severity = args.severity
    alert = Alert(args.title, severity, args.run_id, args.table, link=args.link)
    send_alert(get_settings(), alert)
    print(json.dumps(alert_record(alert)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
