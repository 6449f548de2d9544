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
from functools import partial

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


def channels(settings: Delivery) -> tuple[str, ...]:
    """The configured channels, in the order they are sent."""
    return tuple(name for name, on in (("webhook", settings.webhook.url), ("email", settings.email.smtp_host)) if on)


def deliver(message: Message, settings: Delivery, sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    """Send ``message`` on every configured channel; returns one outcome per channel, never raises."""
    return [deliver_channel(message, settings, channel, sleep) for channel in channels(settings)]


def deliver_channel(
    message: Message, settings: Delivery, channel: str, sleep: Callable[[float], None] = time.sleep
) -> Outcome:
    """Send ``message`` on one channel with retries; a channel no longer configured fails without a try."""
    if channel == "webhook" and settings.webhook.url:
        target = redact_url(settings.webhook.url)
        send = partial(post_json, settings.webhook.url, message.payload, settings.timeout_seconds)
    elif channel == "email" and settings.email.smtp_host:
        target = f"{settings.email.smtp_host}:{settings.email.smtp_port} ({len(settings.email.recipients)} recipients)"
        send = partial(send_email, settings.email, message, settings.timeout_seconds)
    else:
        return Outcome(channel, "", "failed", 0, "channel no longer configured")
    return _with_retries(channel, target, send, settings, sleep)


# --- the outbox: each run's message per channel, entered with the publication, sent exactly once ----------------


def enqueue(con: duckdb.DuckDBPyConnection, run_id: str, names: tuple[str, ...], message: Message, now: datetime):
    """Put the run's message in the outbox for each channel; call inside the transaction that marks published."""
    for channel in names:
        con.execute(
            "INSERT OR IGNORE INTO delivery_outbox (run_id, channel, publish_date, message, status, created_at) "
            "VALUES (?, ?, ?, ?, 'waiting', ?)",
            [run_id, channel, message.publish_date, message.to_json().decode("utf-8"), now],
        )


def waiting(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, Message]]:
    """(run_id, channel, message) of every message not yet sent, oldest first: this run's and a killed run's."""
    rows = con.execute(
        "SELECT run_id, channel, message FROM delivery_outbox WHERE status = 'waiting' ORDER BY created_at, channel"
    ).fetchall()
    return [(run_id, channel, Message.from_json(message.encode("utf-8"))) for run_id, channel, message in rows]


def send_waiting(
    con: duckdb.DuckDBPyConnection, settings: Delivery, sleep: Callable[[float], None] = time.sleep
) -> list[Outcome]:
    """Send every waiting message, each marked sent or failed (and recorded) as soon as its channel answered.

    A run killed between a channel's answer and this mark would send that one message again: the only window in
    which a delivery can double, and it is one statement long.
    """
    outcomes = []
    for run_id, channel, message in waiting(con):
        outcome = deliver_channel(message, settings, channel, sleep)
        con.execute(
            "UPDATE delivery_outbox SET status = ?, done_at = ? WHERE run_id = ? AND channel = ?",
            [outcome.status, datetime.now(UTC), run_id, channel],
        )
        record(con, run_id, message, [outcome])
        outcomes.append(outcome)
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
