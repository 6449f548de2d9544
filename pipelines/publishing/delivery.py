"""Optional delivery of a night's new matches: a webhook POST (JSON) and an e-mail (SMTP). Off unless configured.

Delivery is a courtesy on top of the published files: a failure is retried a few times with growing pauses, then
logged and recorded in the ``deliveries`` table, and never raised to the nightly run.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage

import duckdb

from pipelines.config import Delivery, Email, redact_url

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    channel: str
    target: str
    status: str  # sent or failed
    attempts: int
    error: str | None = None


@dataclass
class Message:
    """What one night sends: the JSON payload (matches.json's shape) and the e-mail's texts."""

    publish_date: date
    payload: dict
    subject: str
    text: str
    html: str

    def to_json(self) -> bytes:
        fields = {**self.__dict__, "publish_date": self.publish_date.isoformat()}
        return json.dumps(fields, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Message:
        fields = json.loads(data)
        return cls(**{**fields, "publish_date": date.fromisoformat(fields["publish_date"])})


def deliver(message: Message, settings: Delivery, sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Send ``message`` on every configured channel; returns one outcome per channel, never raises."""
    outcomes = []
    if settings.webhook.url:
        target = redact_url(settings.webhook.url)
        outcomes.append(
            _with_retries(
                "webhook",
                target,
                lambda: post_json(settings.webhook.url, message.payload, settings.timeout_seconds),
                settings,
                sleep,
            )
        )
    if settings.email.smtp_host:
        target = f"{settings.email.smtp_host}:{settings.email.smtp_port} ({len(settings.email.recipients)} recipients)"
        outcomes.append(
            _with_retries(
                "email", target, lambda: send_email(settings.email, message, settings.timeout_seconds), settings, sleep
            )
        )
    return outcomes


def _with_retries(
    channel: str, target: str, send: Callable[[], None], settings: Delivery, sleep: Callable[[float], None]
) -> Outcome:
    error = None
    for attempt in range(1, settings.attempts + 1):
        try:
            send()
            log.info("delivered by %s to %s (attempt %d)", channel, target, attempt)
            return Outcome(channel, target, "sent", attempt)
        except Exception as problem:  # noqa: BLE001 (any failure of a courtesy channel is reported, not raised)
            error = f"{type(problem).__name__}: {problem}"
            log.warning("delivery by %s to %s failed (attempt %d of %d): %s", channel, target, attempt,
                        settings.attempts, error)  # fmt: skip
            if attempt < settings.attempts:
                sleep(settings.backoff_seconds * 2 ** (attempt - 1))
    return Outcome(channel, target, "failed", settings.attempts, error)


def post_json(url: str, payload: dict, timeout: float) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "tenderwatch"},
    )
    # urlopen raises HTTPError on 4xx/5xx; a redirect to another scheme is refused by urllib itself.
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def send_email(settings: Email, message: Message, timeout: float) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.sender
    mail["To"] = ", ".join(settings.recipients)
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(mail)


def record(con: duckdb.DuckDBPyConnection, run_id: str, message: Message, outcomes: list[Outcome]) -> None:
    """One row per channel tried, for the operator (``SELECT * FROM deliveries WHERE status = 'failed'``)."""
    now = datetime.now(UTC)
    for outcome in outcomes:
        con.execute(
            "INSERT INTO deliveries (run_id, publish_date, channel, target, status, attempts, error, matches, "
            "delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, message.publish_date, outcome.channel, outcome.target, outcome.status, outcome.attempts,
             outcome.error, len(message.payload.get("matches", [])), now],
        )  # fmt: skip
