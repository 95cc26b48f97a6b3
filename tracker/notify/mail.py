"""Sending e-mail: one message at a time, text fit for mail headers and bodies.

A message that fails (the server refuses a recipient, the connection drops, a header would carry a line
break) must not stop the others: mail_send reports it and the caller gives its claim back, so the next
run retries that one only. Text from the database (unit names, titles) may hold control characters,
CR/LF among them, which Django refuses in a header (BadHeaderError): header_text drops every control
character, body_text all but line breaks and tabs.
"""

from __future__ import annotations

import logging
import re
import smtplib

from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)

# SMTP refusals and dropped connections; ValueError: Django's BadHeaderError and encoding errors.
MAIL_ERRORS = (smtplib.SMTPException, OSError, ValueError)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def header_text(text: str) -> str:
    """One line: control characters (CR and LF included) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def body_text(text: str) -> str:
    """Lines kept, every other control character dropped."""
    return _CONTROL_BUT_LINES.sub("", text)


def mail_send(message: EmailMessage, *, connection) -> bool:
    """Send one message through `connection`; False (logged) when it was not accepted."""
    try:
        return bool(connection.send_messages([message]))
    except MAIL_ERRORS as exc:
        logger.warning("e-mail to %s not sent (%s: %s)", ", ".join(message.to), type(exc).__name__, exc)
        return False
