"""Sending a composed e-mail: over SMTP when WIDGET_SMTP_HOST is set, else as an .eml file.

The file transport is the embedded default: every e-mail is written to
WIDGET_MAIL_DIR (default `<instance>/mail/`) as a complete RFC 5322 message, one
file per e-mail, and its file name is logged, so nothing is lost without a mail server.
The SMTP password is never logged.
"""
import logging
import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage as MimeMessage
from email.utils import parseaddr
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    transport: str  # smtp | file
    stored_as: str | None = None  # the file name, for the file transport


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int = 587
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    use_ssl: bool = False
    timeout: float = 30

    def __repr__(self) -> str:  # never the password
        return f"SmtpTransport({self.host}:{self.port}, user={self.user!r}, starttls={self.starttls}, ssl={self.use_ssl})"

    def send(self, message: MimeMessage, label: str) -> Sent:
        context = ssl.create_default_context()
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if self.starttls and not self.use_ssl:
                client.starttls(context=context)
                client.ehlo()
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message)
        log.info("e-mail %s sent over SMTP via %s:%s", label, self.host, self.port)
        return Sent("smtp")


@dataclass(frozen=True)
class FileTransport:
    folder: Path

    def send(self, message: MimeMessage, label: str) -> Sent:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{label}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".writing-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as fh:
                fh.write(message.as_bytes())
            os.replace(temporary, self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        log.info("e-mail %s written to %s (no WIDGET_SMTP_HOST configured)", label, self.folder / name)
        return Sent("file", name)


def transport(config) -> SmtpTransport | FileTransport:
    """The transport the app's config describes."""
    if config.get("WIDGET_SMTP_HOST"):
        return SmtpTransport(
            host=config["WIDGET_SMTP_HOST"], port=int(config.get("WIDGET_SMTP_PORT") or 587),
            user=config.get("WIDGET_SMTP_USER"), password=config.get("WIDGET_SMTP_PASSWORD"),
            starttls=bool(config.get("WIDGET_SMTP_STARTTLS", True)), use_ssl=bool(config.get("WIDGET_SMTP_SSL")),
            timeout=float(config.get("WIDGET_SMTP_TIMEOUT") or 30),
        )
    return FileTransport(Path(config["WIDGET_MAIL_DIR"]))


def sender_domain(from_address: str) -> str:
    address = parseaddr(from_address)[1]
    return address.rpartition("@")[2] or "localhost"
