"""Sending one stored email over SMTP with the standard library (smtplib).

The password is read from the settings at the moment of login and never logged; smtplib's
debug output stays off, since it would print the AUTH exchange.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime

from charter.config import Settings
from charter.core import clock
from charter.notify.models import EmailMessage


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying would not help."""


def build(settings: Settings, message: EmailMessage) -> MimeMessage:
    """The MIME message: text and HTML alternatives, a stable Message-ID, unsubscribe headers."""
    mime = MimeMessage()
    mime["From"] = settings.mail_from
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(clock.ensure_utc(message.created_at))
    mime["Message-ID"] = message.message_id
    mime["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail clients offer one-click unsubscribe with these two.
        mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server; :class:`PermanentFailure` on a 5xx refusal.

    Other errors (connection refused, timeouts, 4xx) propagate, and the worker retries.
    """
    if settings.smtp_host is None:
        raise PermanentFailure("email is not configured (CHARTER_SMTP_HOST is unset)")
    mime = build(settings, message)
    context = ssl.create_default_context()
    timeout = settings.smtp_timeout_seconds
    smtp: smtplib.SMTP
    if settings.smtp_ssl:
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        with smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=context)
            if settings.smtp_username:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_username, password)
            smtp.send_message(mime, to_addrs=[message.recipient])
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused: {codes}") from None
        raise
    except smtplib.SMTPResponseException as error:
        if error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPAuthenticationError):
            raw = error.smtp_error
            detail = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
            raise PermanentFailure(f"SMTP {error.smtp_code}: {detail}") from None
        raise
