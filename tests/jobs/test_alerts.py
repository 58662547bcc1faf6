"""Alert sinks against real loopback receivers: an HTTP webhook and an SMTP server."""

from __future__ import annotations

import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conf.settings import Settings
from jobs import alerts
from jobs.alerts import Alert, alert_from_failures, send_alert, slack_body
from silver.dq import DQResult

RUN_ID = "silver-20240301T000000Z-abcd1234"
LINK = "file:///lake/_dq/gx/data_docs/index.html"
FAILURES = [
    DQResult("usage", "gx", "gx:expect_column_values_to_be_in_set:metric", "warn", "failed", 50, 3),
    DQResult("payment", "table_check", "freshness", "critical", "failed", observed_value="80h"),
    DQResult("payment", "gx", "gx:expect_column_values_to_not_be_null:amount", "warn", "passed"),
]


class Webhook:
    """A loopback HTTP receiver that answers the queued statuses, then 200."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """A minimal SMTP server on loopback that keeps every received message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                sender, recipients = "", []
                while line := self.rfile.readline():
                    command = line.decode().strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        sender = command.split(":", 1)[1].strip().strip("<>")
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        message = message_from_bytes(data, policy=policy.default)
                        receiver.messages.append((sender, recipients, message))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture()
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "WEBHOOK_BACKOFF_S", 0.01)
    monkeypatch.setattr(alerts._send_webhook, "__defaults__", (2, 0.01, 2.0))


def test_alert_from_failures_keeps_failed_checks_most_severe_first() -> None:
    alert = alert_from_failures(FAILURES, RUN_ID, LINK)
    assert alert.severity == "critical"
    assert alert.table == "*"
    assert alert.run_id == RUN_ID and alert.link == LINK
    assert [f.rule_name for f in alert.failures] == [
        "freshness",
        "gx:expect_column_values_to_be_in_set:metric",
    ]
    assert "2 failed check(s) on 2 tables" in alert.title
    assert "1 critical, 1 warn" in alert.title
    lines = alert.summary_lines()
    assert lines == [
        "[critical] payment freshness (observed 80h)",
        "[warn] usage gx:expect_column_values_to_be_in_set:metric (3 of 50 rows)",
    ]


def test_single_table_alert_names_the_table() -> None:
    alert = alert_from_failures(FAILURES[:1], RUN_ID, None)
    assert (alert.table, alert.severity) == ("usage", "warn")


def test_log_sink_writes_one_structured_error_line(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(alert_sink="log")
    with caplog.at_level(logging.ERROR, logger="finlake.alerts"):
        send_alert(settings, alert_from_failures(FAILURES, RUN_ID, LINK))
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    payload = record.__dict__["alert"]
    assert payload["run_id"] == RUN_ID
    assert payload["failures"][0]["rule_name"] == "freshness"
    json.dumps(payload)  # JSON-ready


def test_webhook_posts_a_slack_compatible_body(webhook: Webhook) -> None:
    settings = Settings(alert_sink="webhook", alert_webhook_url=webhook.url)
    alert = alert_from_failures(FAILURES, RUN_ID, LINK)
    send_alert(settings, alert)
    (body,) = webhook.bodies
    assert body == slack_body(alert)
    assert set(body) == {"text", "blocks"}
    assert RUN_ID in body["text"]
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert body["blocks"][0]["text"]["type"] == "plain_text"
    assert "freshness" in body["blocks"][2]["text"]["text"]
    assert LINK in body["blocks"][3]["elements"][0]["text"]


def test_webhook_retries_server_errors(webhook: Webhook) -> None:
    webhook.statuses = [500, 503]
    settings = Settings(alert_sink="webhook", alert_webhook_url=webhook.url)
    send_alert(settings, alert_from_failures(FAILURES, RUN_ID, LINK))
    assert len(webhook.bodies) == 3
    assert webhook.bodies[0] == webhook.bodies[2]


def test_webhook_gives_up_after_two_retries_without_raising(
    webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.statuses = [500, 500, 500, 500]
    settings = Settings(alert_sink="webhook", alert_webhook_url=webhook.url)
    with caplog.at_level(logging.ERROR, logger="finlake.alerts"):
        send_alert(settings, alert_from_failures(FAILURES, RUN_ID, LINK))
    assert len(webhook.bodies) == 3
    failed = [r for r in caplog.records if r.getMessage() == "alert delivery failed"]
    assert len(failed) == 1 and "HTTP 500" in failed[0].__dict__["error"]


def test_webhook_does_not_retry_client_errors(webhook: Webhook) -> None:
    webhook.statuses = [400]
    settings = Settings(alert_sink="webhook", alert_webhook_url=webhook.url)
    send_alert(settings, alert_from_failures(FAILURES, RUN_ID, LINK))
    assert len(webhook.bodies) == 1


def test_unreachable_webhook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    closed = Webhook()
    url = closed.url
    closed.close()
    settings = Settings(alert_sink="webhook", alert_webhook_url=url)
    with caplog.at_level(logging.ERROR, logger="finlake.alerts"):
        send_alert(settings, alert_from_failures(FAILURES, RUN_ID, LINK))
    assert any(r.getMessage() == "alert delivery failed" for r in caplog.records)


def test_smtp_sink_sends_an_email(smtp_receiver: SmtpReceiver) -> None:
    settings = Settings(
        alert_sink="smtp",
        alert_smtp_host="127.0.0.1",
        alert_smtp_port=smtp_receiver.port,
        alert_email_to="finance-data@example.test",
    )
    alert = alert_from_failures(FAILURES, RUN_ID, LINK)
    send_alert(settings, alert)
    (sender, recipients, message) = smtp_receiver.messages[0]
    assert recipients == ["finance-data@example.test"]
    assert sender == "finlake-alerts@example.test"
    assert str(message["Subject"]).strip() == alert.title  # long subjects are folded
    assert isinstance(message, EmailMessage)
    text = message.get_content()
    assert RUN_ID in text and "[critical] payment freshness" in text and LINK in text


def test_smtp_down_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    receiver = SmtpReceiver()
    port = receiver.port
    receiver.close()
    settings = Settings(alert_sink="smtp", alert_smtp_host="127.0.0.1", alert_smtp_port=port)
    with caplog.at_level(logging.ERROR, logger="finlake.alerts"):
        send_alert(settings, Alert("t", "warn", RUN_ID, "usage"))
    assert any(r.getMessage() == "alert delivery failed" for r in caplog.records)
