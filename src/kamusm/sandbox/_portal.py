"""The sandbox portal's state and rules, on SQLite: no HTTP here.

:class:`SandboxPortal` is what the Starlette application calls for every request and what a
test or a provisioning script calls directly. Every refusal is an :class:`ApiError` carrying the
HTTP status and the machine-readable ``error`` code of the contract (``docs/portal-api.md``).

What reaches the database file: keyed hashes of verification codes, SMS codes, session tokens,
operation ids and captcha answers; salted slow hashes of passwords and security words; AES-GCM
ciphertexts of SO credentials, initial PINs and SMS texts. Never a secret in clear.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import sqlite3
import tempfile
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import attrs

from kamusm._contract import (
    CHALLENGE_METHODS,
    EDEVLET_METHODS,
    ERRORS,
    MAX_WRONG_SO_ATTEMPTS,
    SO_LOGINS,
)
from kamusm.sandbox._settings import SandboxSettings
from kamusm.sandbox._vault import Vault
from kamusm.values import Clock, Product, SystemClock, Tckn

__all__ = [
    "ApiError",
    "CertificateRecord",
    "SandboxPortal",
    "SandboxSecretError",
    "SmsMessage",
    "master_secret_from_hex",
]

log = logging.getLogger(__name__)

_CAPTCHA_ALPHABET: Final = "ABCDEFGHJKLMNPRSTUVYZ23456789"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS holders (
    id INTEGER PRIMARY KEY,
    tckn TEXT NOT NULL UNIQUE,
    passport TEXT UNIQUE,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    phone TEXT NOT NULL,
    password_hash BLOB NOT NULL,
    security_word_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cards (
    serial TEXT PRIMARY KEY,
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    product TEXT NOT NULL,
    so_credential BLOB NOT NULL,
    initial_pin BLOB,
    initial_pin_viewed INTEGER NOT NULL DEFAULT 0,
    so_rotation INTEGER NOT NULL DEFAULT 0,
    so_pending BLOB,
    so_operation INTEGER,
    so_retired BLOB
);
CREATE TABLE IF NOT EXISTS certificates (
    serial_number TEXT PRIMARY KEY,
    card_serial TEXT NOT NULL REFERENCES cards(serial),
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    product TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS codes (
    id INTEGER PRIMARY KEY,
    code_mac BLOB NOT NULL UNIQUE,
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    product TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY,
    op_mac BLOB NOT NULL UNIQUE,
    code_id INTEGER NOT NULL REFERENCES codes(id),
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    card_serial TEXT NOT NULL REFERENCES cards(serial),
    product TEXT NOT NULL,
    redeemed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    pin_entry_deadline TEXT NOT NULL,
    state TEXT NOT NULL,
    challenges INTEGER NOT NULL DEFAULT 0,
    wrong_answers INTEGER NOT NULL DEFAULT 0,
    challenge_method TEXT,
    challenge_mac BLOB,
    challenge_expires_at TEXT,
    authorization_expires_at TEXT,
    cancelled_why TEXT,
    so_fresh BLOB,
    so_released BLOB
);
CREATE TABLE IF NOT EXISTS sessions (
    token_mac BLOB PRIMARY KEY,
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    method TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS captchas (
    id_mac BLOB PRIMARY KEY,
    answer_mac BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending_logins (
    id_mac BLOB PRIMARY KEY,
    holder_id INTEGER NOT NULL REFERENCES holders(id),
    sms_mac BLOB NOT NULL,
    expires_at TEXT NOT NULL,
    wrong_answers INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sms_outbox (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    purpose TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    client TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_client ON failures(client, at);
CREATE TABLE IF NOT EXISTS holder_failures (
    id INTEGER PRIMARY KEY,
    subject BLOB NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS holder_failures_by_subject ON holder_failures(subject, at);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    holder_id INTEGER,
    card_serial TEXT,
    detail TEXT NOT NULL
);
"""


#: Columns added since the first release: an older database gets them when it is opened.
_ADDED_COLUMNS: Final = (
    ("operations", "cancelled_why", "TEXT"),
    # The SO credential's rotation: a card registered before it keeps its fixed credential.
    ("cards", "so_rotation", "INTEGER NOT NULL DEFAULT 0"),
    ("cards", "so_pending", "BLOB"),
    ("cards", "so_operation", "INTEGER"),
    ("cards", "so_retired", "BLOB"),
    ("operations", "so_fresh", "BLOB"),
    ("operations", "so_released", "BLOB"),
)

#: Candidate SO credentials one authorization may carry: the token layer may spend one wrong
#: SO attempt per unblock, so it can tell two apart and no more.
MAX_SO_CANDIDATES: Final = 2
#: How many dropped SO credentials a card keeps, retired, for the helpdesk (the newest).
MAX_RETIRED_SO: Final = 8

#: The latest moment a manual clock may be moved to: date arithmetic near datetime.max would
#: overflow.
LATEST_MOMENT: Final = datetime(3000, 1, 1, tzinfo=UTC)


class SandboxSecretError(Exception):
    """The sandbox cannot start with this master secret: malformed, or not the one its
    database was written with. ``str()`` is one line for the operator."""

    def __init__(self, key: str, **fields: object) -> None:
        self.key = key
        self.fields = fields
        super().__init__(self.message("en"))

    _TEXTS: Final = {
        "mismatch": {
            "en": "the database {database} was written with another KAMUSM_SANDBOX_SECRET "
            "(its key check value does not match): start with the same secret, or another "
            "--database",
            "tr": "{database} veritabanı başka bir KAMUSM_SANDBOX_SECRET ile yazılmış (anahtar "
            "denetim değeri uyuşmuyor): aynı sırla ya da başka bir --database ile başlatın",
        },
        "not_hex": {
            "en": "KAMUSM_SANDBOX_SECRET must be hex digits (64 or more, 32 bytes)",
            "tr": "KAMUSM_SANDBOX_SECRET onaltılık rakamlardan oluşmalı (en az 64 rakam, 32 bayt)",
        },
        "too_short": {
            "en": "KAMUSM_SANDBOX_SECRET must be at least 32 bytes (64 hex digits)",
            "tr": "KAMUSM_SANDBOX_SECRET en az 32 bayt (64 onaltılık rakam) olmalı",
        },
    }

    def message(self, lang: str) -> str:
        texts = self._TEXTS[self.key]
        return texts.get(lang, texts["en"]).format(**self.fields)


def master_secret_from_hex(text: str) -> bytes:
    """The master secret from its hex form (``KAMUSM_SANDBOX_SECRET``), or
    :class:`SandboxSecretError`."""
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        raise SandboxSecretError("not_hex") from None
    if len(secret) < 32:
        raise SandboxSecretError("too_short")
    return secret


def security_word_key(word: str) -> str:
    """The security word as compared: without case by the Turkish rules, in NFC. I is the
    capital of ı and İ the capital of i ("KIRMIZI" is "kırmızı", "İZMİR" is "izmir"), so
    "IŞIK" is "ışık" but "işik" is another word; every other letter is case-folded."""
    normal = unicodedata.normalize("NFC", word.strip())
    return normal.replace("I", "ı").replace("İ", "i").casefold()


def _certificate_status(rows: list[sqlite3.Row], now: datetime) -> str | None:
    """What an operation tells of a card's certificates of its product: the best state among
    those not expired (active, suspended, revoked), "expired" when every one has, ``None``
    when the portal knows of none."""
    if not rows:
        return None
    valid = {row["status"] for row in rows if now < _at(row["not_after"])}
    return next((s for s in ("active", "suspended", "revoked") if s in valid), "expired")


class ApiError(Exception):
    """A refusal of the contract: HTTP ``status`` and machine-readable ``code``.

    The extra fields (``reason``, ``attempts_remaining``, ``retry_after``) go into the JSON
    body. Nothing secret is ever put in one.
    """

    def __init__(
        self,
        status: int,
        code: str,
        *,
        reason: str | None = None,
        attempts_remaining: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        if code not in ERRORS:
            raise ValueError(f"{code!r} is not an error code of the contract")
        super().__init__(code)
        self.status = status
        self.code = code
        self.reason = reason
        self.attempts_remaining = attempts_remaining
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {"error": self.code}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.attempts_remaining is not None:
            out["attempts_remaining"] = self.attempts_remaining
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


@attrs.frozen(kw_only=True)
class CertificateRecord:
    """A certificate registered on a sandbox card (metadata only; the sandbox never needs the
    DER)."""

    serial_number: str
    subject: str
    not_before: datetime
    not_after: datetime
    product: Product | None = None
    status: str = "active"


@attrs.frozen(kw_only=True)
class SmsMessage:
    """One SMS in the sandbox outbox (readable only through the admin side)."""

    phone: str
    sent_at: datetime
    purpose: str
    text: str = attrs.field(repr=False)  # carries the code
    code: str = attrs.field(repr=False)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 4:
        return "*" * len(digits)
    return "".join(digits[:2]) + "*" * (len(digits) - 4) + "".join(digits[-2:])


def _random_digits(length: int) -> str:
    return f"{secrets.randbelow(10**length):0{length}d}"


_ALPHANUMERIC: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def fresh_so_credential(like: str) -> str:
    """A random SO credential of the shape the card took before: as many characters as
    ``like``, digits only when ``like`` is digits only (an AKİS PUK: 8 digits), else ASCII
    letters and digits. Never equal to ``like``."""
    digits_only = like.isascii() and like.isdigit()
    while True:
        if digits_only:
            fresh = _random_digits(len(like))
        else:
            fresh = "".join(secrets.choice(_ALPHANUMERIC) for _ in like)
        if not secrets.compare_digest(fresh.encode(), like.encode()):
            return fresh


class SandboxPortal:
    """The sandbox's state (one SQLite database) and every rule of the portal contract.

    ``database`` is a file path; by default a temporary file that is removed by :meth:`close`.
    ``clock`` decides every expiry (give a :class:`~kamusm.values.ManualClock` to test expiry
    without waiting). ``master_secret`` keys the encryption at rest (random by default).
    Thread-safe: one connection behind one lock.
    """

    def __init__(
        self,
        database: str | Path | None = None,
        *,
        settings: SandboxSettings | None = None,
        clock: Clock | None = None,
        master_secret: bytes | None = None,
    ) -> None:
        self.settings = settings if settings is not None else SandboxSettings()
        self.clock: Clock = clock if clock is not None else SystemClock()
        if master_secret is not None and len(master_secret) < 32:
            raise SandboxSecretError("too_short")
        self._vault = Vault(master_secret)
        # What an unknown holder's password is checked against: one key derivation, as for
        # a registered holder, so the time does not tell who is registered.
        self._no_such_holder = Vault.hash_password(secrets.token_hex(16))
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if database is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="kamusm-sandbox-")
            database = Path(self._tempdir.name) / "sandbox.sqlite3"
        self.database = Path(database)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.database, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        try:
            self._migrate()
            self._check_key()
        except SandboxSecretError:
            self._db.close()
            raise
        log.debug("Sandbox portal opened its database")

    def _migrate(self) -> None:
        for table, column, kind in _ADDED_COLUMNS:
            have = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def _check_key(self) -> None:
        """The database's key check value must be this master secret's (it is stored on
        first use): with another secret every ciphertext in the file is unreadable."""
        mine = self._vault.key_check()
        row = self._db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)", (mine,))
        elif not secrets.compare_digest(bytes(row["value"]), mine):
            raise SandboxSecretError("mismatch", database=self.database)

    # ---- plumbing ---------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (and remove it if it was a temporary file)."""
        with self._lock:
            self._db.close()
            if self._tempdir is not None:
                self._tempdir.cleanup()
                self._tempdir = None

    def __enter__(self) -> SandboxPortal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SandboxPortal({str(self.database)!r})"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction. A deliberate refusal (:class:`ApiError`) keeps what was written
        before it (attempt counters, failures, audit); any other error rolls back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except ApiError:
                self._db.execute("COMMIT")
                raise
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _now(self) -> datetime:
        return self.clock.now()

    def _audit(
        self,
        db: sqlite3.Connection,
        event: str,
        *,
        actor: str,
        holder_id: int | None = None,
        card_serial: str | None = None,
        **detail: object,
    ) -> None:
        db.execute(
            "INSERT INTO audit (at, actor, event, holder_id, card_serial, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_iso(self._now()), actor, event, holder_id, card_serial, json.dumps(detail)),
        )

    def _check_rate(self, db: sqlite3.Connection, client: str) -> None:
        now = self._now()
        since = now - self.settings.failure_window
        rows = db.execute(
            "SELECT at FROM failures WHERE client = ? AND at > ? AND kind != 'captcha' ORDER BY at",
            (client, _iso(since)),
        ).fetchall()
        if len(rows) >= self.settings.max_failures:
            oldest = _at(rows[0]["at"])
            wait = (oldest + self.settings.failure_window - now).total_seconds()
            raise ApiError(429, "rate_limited", retry_after=max(1, math.ceil(wait)))

    def _fail(self, db: sqlite3.Connection, client: str, kind: str) -> None:
        now = self._now()
        db.execute(
            "INSERT INTO failures (client, kind, at) VALUES (?, ?, ?)", (client, kind, _iso(now))
        )
        db.execute(
            "DELETE FROM failures WHERE at <= ?", (_iso(now - self.settings.failure_window),)
        )

    # ---- guessing about one holder, from any address ---------------------------------

    def _subject(self, who: str) -> bytes:
        """The key under which guesses about one holder (by T.C. Kimlik No, or the number
        typed when nobody has it) are counted."""
        return self._vault.mac(who, purpose="subject")

    def _check_holder(self, db: sqlite3.Connection, subject: bytes) -> None:
        """429 while the holder is held back: after ``max_holder_failures`` failures, for
        ``holder_backoff``, doubling with each failure after that."""
        settings = self.settings
        now = self._now()
        rows = db.execute(
            "SELECT at FROM holder_failures WHERE subject = ? AND at > ? ORDER BY at",
            (subject, _iso(now - settings.holder_failure_memory)),
        ).fetchall()
        over = len(rows) - settings.max_holder_failures
        if over < 0:
            return
        wait = min(settings.holder_backoff * 2 ** min(over, 30), settings.holder_backoff_max)
        until = _at(rows[-1]["at"]) + wait
        if now < until:
            raise ApiError(
                429, "rate_limited", retry_after=max(1, math.ceil((until - now).total_seconds()))
            )

    def _fail_holder(self, db: sqlite3.Connection, subject: bytes) -> None:
        now = self._now()
        db.execute("INSERT INTO holder_failures (subject, at) VALUES (?, ?)", (subject, _iso(now)))
        db.execute(
            "DELETE FROM holder_failures WHERE at <= ?",
            (_iso(now - self.settings.holder_failure_memory),),
        )

    def _holder_subject(self, db: sqlite3.Connection, holder_id: int) -> bytes:
        row = db.execute("SELECT tckn FROM holders WHERE id = ?", (holder_id,)).fetchone()
        return self._subject(str(row["tckn"]))

    def _send_sms(self, db: sqlite3.Connection, phone: str, purpose: str, code: str) -> None:
        body = f"Kamu SM onay kodunuz: {code}. Bu kodu kimseyle paylaşmayın."
        sent_at = _iso(self._now())
        db.execute(
            "INSERT INTO sms_outbox (phone, sent_at, purpose, body) VALUES (?, ?, ?, ?)",
            (phone, sent_at, purpose, self._vault.encrypt(body, context=f"sms:{phone}:{sent_at}")),
        )

    # ---- provisioning (admin) ---------------------------------------------------------

    def register_holder(
        self,
        *,
        tckn: Tckn,
        name: str,
        birth_date: date,
        password: str,
        phone: str,
        security_word: str,
        passport: str | None = None,
    ) -> None:
        """Register a card holder: T.C. Kimlik No, name, birth date, e-Devlet password (also
        the "WEB Parola"), registered phone, Şifreli Giriş security word."""
        if not password or not security_word or not name:
            raise ApiError(400, "bad_request", reason="empty_field")
        if sum(c.isdigit() for c in phone) < 4:
            raise ApiError(400, "bad_request", reason="phone")
        # One number names one holder: a passport equal to anybody's T.C. Kimlik No (or the
        # other way round) would let Şifreli Giriş find the wrong person.
        numbers = (tckn.value, passport if passport is not None else tckn.value)
        with self._tx() as db:
            exists = db.execute(
                "SELECT 1 FROM holders WHERE tckn IN (?, ?) OR passport IN (?, ?)",
                numbers + numbers,
            ).fetchone()
            if exists:
                raise ApiError(409, "conflict", reason="holder_exists")
            cur = db.execute(
                "INSERT INTO holders (tckn, passport, name, birth_date, phone, password_hash, "
                "security_word_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    tckn.value,
                    passport,
                    name,
                    birth_date.isoformat(),
                    phone,
                    Vault.hash_password(password),
                    Vault.hash_password(security_word_key(security_word)),
                ),
            )
            self._audit(db, "holder.registered", actor="admin", holder_id=cur.lastrowid)
        log.info("Sandbox holder %s registered", tckn.masked)

    def register_card(
        self,
        *,
        serial: str,
        holder: Tckn,
        product: Product,
        so_credential: str,
        initial_pin: str | None = None,
        certificates: Iterable[CertificateRecord] = (),
        rotate_so_credential: bool = True,
    ) -> None:
        """Register a card of ``holder`` with its SO credential (kept server-side, encrypted,
        like Kamu SM keeps the PUK), optionally a legacy initial PIN and its certificates.

        ``rotate_so_credential`` is the card profile's setting: on (the sandbox's default),
        every released authorization carries a fresh SO credential the desktop sets on the
        card, so a released credential dies with its use; off, the card keeps its fixed one.
        A deployment turns it on only for cards that allow their SO credential (on AKİS the
        PUK) to be changed."""
        if not so_credential:
            raise ApiError(400, "bad_request", reason="so_credential")
        if initial_pin is not None and not (initial_pin.isascii() and initial_pin.isdigit()):
            raise ApiError(400, "bad_request", reason="initial_pin")
        certs = list(certificates)
        with self._tx() as db:
            row = db.execute("SELECT id FROM holders WHERE tckn = ?", (holder.value,)).fetchone()
            if row is None:
                raise ApiError(404, "not_found", reason="holder")
            holder_id = int(row["id"])
            if db.execute("SELECT 1 FROM cards WHERE serial = ?", (serial,)).fetchone():
                raise ApiError(409, "conflict", reason="card_exists")
            for cert in certs:
                if db.execute(
                    "SELECT 1 FROM certificates WHERE serial_number = ?", (cert.serial_number,)
                ).fetchone():
                    raise ApiError(409, "conflict", reason="certificate_exists")
            db.execute(
                "INSERT INTO cards (serial, holder_id, product, so_credential, initial_pin, "
                "so_rotation) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    serial,
                    holder_id,
                    product.value,
                    self._vault.encrypt(so_credential, context=f"so:{serial}"),
                    None
                    if initial_pin is None
                    else self._vault.encrypt(initial_pin, context=f"initial:{serial}"),
                    1 if rotate_so_credential else 0,
                ),
            )
            for cert in certs:
                db.execute(
                    "INSERT INTO certificates (serial_number, card_serial, holder_id, product, "
                    "subject, not_before, not_after, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cert.serial_number,
                        serial,
                        holder_id,
                        (cert.product or product).value,
                        cert.subject,
                        _iso(cert.not_before),
                        _iso(cert.not_after),
                        cert.status,
                    ),
                )
            self._audit(
                db,
                "card.registered",
                actor="admin",
                holder_id=holder_id,
                card_serial=serial,
                product=product.value,
                certificates=len(certs),
                so_rotation=bool(rotate_so_credential),
            )
        log.info("Sandbox card %s registered", serial)

    def card_so_credential(self, serial: str) -> str:
        """The SO credential the portal records as the card's current one (with rotation,
        the one set by the last reported unblock). For tests and provisioning scripts in the
        same process only: no request of the contract reads it."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM cards WHERE serial = ?", (serial,)).fetchone()
            if row is None:
                raise ApiError(404, "not_found", reason="card")
            return self._so_state(self._db, serial)[1]

    def card_so_retired(self, serial: str) -> list[str]:
        """The SO credentials a report made the portal drop, newest first (at most
        :data:`MAX_RETIRED_SO`), kept encrypted for Kamu SM's helpdesk: a desktop that
        reported something other than what the card did may have made it drop the one the
        card holds. No request of the contract reads them and no confirmation releases them;
        for the helpdesk's tools and tests in the same process, like
        :meth:`card_so_credential`."""
        with self._lock:
            card = self._db.execute(
                "SELECT so_retired FROM cards WHERE serial = ?", (serial,)
            ).fetchone()
            if card is None:
                raise ApiError(404, "not_found", reason="card")
            return self._so_retired(card, serial)

    def _so_retired(self, card: sqlite3.Row, serial: str) -> list[str]:
        if card["so_retired"] is None:
            return []
        retired: list[str] = json.loads(
            self._vault.decrypt(card["so_retired"], context=f"so-retired:{serial}")
        )
        return retired

    def card_so_candidates(self, serial: str) -> list[str]:
        """The SO credentials the portal thinks the card may hold, the likelier first (one
        once it knows). For tests in the same process only, like :meth:`card_so_credential`."""
        with self._lock:
            return self._so_candidates(self._db, serial)

    def holder_id(self, tckn: Tckn) -> int:
        """The internal id of a registered holder (what the holder-side methods take)."""
        with self._lock:
            row = self._db.execute("SELECT id FROM holders WHERE tckn = ?", (tckn.value,))
            found = row.fetchone()
        if found is None:
            raise ApiError(404, "not_found", reason="holder")
        return int(found["id"])

    def outbox(self, *, phone: str | None = None) -> list[SmsMessage]:
        """The SMS messages sent so far (newest last), optionally to one phone. Admin only:
        the only place an SMS code can be read back."""
        with self._lock:
            rows = self._db.execute(
                "SELECT phone, sent_at, purpose, body FROM sms_outbox "
                "WHERE ? IS NULL OR phone = ? ORDER BY id",
                (phone, phone),
            ).fetchall()
        out = []
        for row in rows:
            text = self._vault.decrypt(row["body"], context=f"sms:{row['phone']}:{row['sent_at']}")
            code = "".join(c for c in text.split(":", 1)[1].split(".", 1)[0] if c.isdigit())
            out.append(
                SmsMessage(
                    phone=row["phone"],
                    sent_at=_at(row["sent_at"]),
                    purpose=row["purpose"],
                    text=text,
                    code=code,
                )
            )
        return out

    def audit_log(self) -> list[dict[str, Any]]:
        """Every recorded state change, oldest first (no secrets in it)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, actor, event, holder_id, card_serial, detail FROM audit ORDER BY id"
            ).fetchall()
        return [
            {
                "at": row["at"],
                "actor": row["actor"],
                "event": row["event"],
                "holder_id": row["holder_id"],
                "card_serial": row["card_serial"],
                "detail": json.loads(row["detail"]),
            }
            for row in rows
        ]

    # ---- holder session ---------------------------------------------------------------

    def login_methods(self) -> list[dict[str, object]]:
        methods: list[dict[str, object]] = [
            {"method": m, "kind": "edevlet", "available": m == "password"} for m in EDEVLET_METHODS
        ]
        methods.append({"method": "sifreli_giris", "kind": "kamusm", "available": True})
        return methods

    def _open_session(self, db: sqlite3.Connection, holder_id: int, method: str) -> dict[str, Any]:
        now = self._now()
        db.execute("DELETE FROM sessions WHERE ended = 1 OR expires_at <= ?", (_iso(now),))
        token = secrets.token_urlsafe(32)
        expires = now + self.settings.session_validity
        db.execute(
            "INSERT INTO sessions (token_mac, holder_id, method, expires_at) VALUES (?, ?, ?, ?)",
            (self._vault.mac(token, purpose="session"), holder_id, method, _iso(expires)),
        )
        tckn = db.execute("SELECT tckn FROM holders WHERE id = ?", (holder_id,)).fetchone()
        self._audit(db, "session.opened", actor="holder", holder_id=holder_id, method=method)
        return {
            "session_token": token,
            "holder": tckn["tckn"],
            "method": method,
            "expires_at": _iso(expires),
        }

    def login_edevlet(
        self, *, tckn: str, password: str, method: str, client: str
    ) -> dict[str, Any]:
        """e-Devlet login. Only the password method is available in the sandbox."""
        if method not in EDEVLET_METHODS:
            raise ApiError(400, "bad_request", reason="method")
        if method != "password":
            raise ApiError(422, "login_method_unavailable")
        subject = self._subject(tckn)
        with self._tx() as db:
            self._check_rate(db, client)
            self._check_holder(db, subject)
            row = db.execute(
                "SELECT id, password_hash FROM holders WHERE tckn = ?", (tckn,)
            ).fetchone()
            stored = row["password_hash"] if row is not None else self._no_such_holder
            ok = Vault.check_password(password, stored) and row is not None
            if not ok:
                self._fail(db, client, "login")
                self._fail_holder(db, subject)
                self._audit(db, "session.login_failed", actor="anonymous", method="edevlet")
                raise ApiError(401, "login_failed")
            db.execute("DELETE FROM holder_failures WHERE subject = ?", (subject,))
            return self._open_session(db, int(row["id"]), "edevlet")

    def new_captcha(self, *, client: str = "local") -> dict[str, Any]:
        """A captcha for Şifreli Giriş. The sandbox hands the text itself (a real portal shows
        it as an image, "Resimdeki Yazı"). One address gets at most ``max_captchas`` within
        ``failure_window``; used and expired captchas are removed."""
        captcha_id = secrets.token_urlsafe(16)
        text = "".join(secrets.choice(_CAPTCHA_ALPHABET) for _ in range(6))
        now = self._now()
        expires = now + self.settings.login_step_validity
        window = self.settings.failure_window
        with self._tx() as db:
            issued = db.execute(
                "SELECT at FROM failures WHERE client = ? AND kind = 'captcha' AND at > ? "
                "ORDER BY at",
                (client, _iso(now - window)),
            ).fetchall()
            if len(issued) >= self.settings.max_captchas:
                wait = (_at(issued[0]["at"]) + window - now).total_seconds()
                raise ApiError(429, "rate_limited", retry_after=max(1, math.ceil(wait)))
            db.execute("DELETE FROM captchas WHERE used = 1 OR expires_at <= ?", (_iso(now),))
            self._fail(db, client, "captcha")  # not a failure: counted with them, apart
            db.execute(
                "INSERT INTO captchas (id_mac, answer_mac, expires_at) VALUES (?, ?, ?)",
                (
                    self._vault.mac(captcha_id, purpose="captcha"),
                    self._vault.mac(text, purpose="captcha-answer"),
                    _iso(expires),
                ),
            )
        return {"captcha_id": captcha_id, "text": text, "expires_at": _iso(expires)}

    def start_sifreli_giris(
        self,
        *,
        id_number: str,
        captcha_id: str,
        captcha_answer: str,
        security_word: str,
        client: str,
    ) -> dict[str, Any]:
        """Şifreli Giriş, first step: T.C. Kimlik No or passport number, the captcha and the
        security word. Sends an SMS code to the registered phone."""
        now = self._now()
        with self._tx() as db:
            self._check_rate(db, client)
            row = db.execute(
                "SELECT id, tckn, phone, security_word_hash FROM holders "
                "WHERE tckn = ? OR passport = ?",
                (id_number, id_number),
            ).fetchone()
            subject = self._subject(row["tckn"] if row is not None else id_number)
            self._check_holder(db, subject)
            cap = db.execute(
                "SELECT answer_mac, expires_at, used FROM captchas WHERE id_mac = ?",
                (self._vault.mac(captcha_id, purpose="captcha"),),
            ).fetchone()
            captcha_ok = (
                cap is not None
                and not cap["used"]
                and now < _at(cap["expires_at"])
                and secrets.compare_digest(
                    cap["answer_mac"],
                    self._vault.mac(captcha_answer.strip().upper(), purpose="captcha-answer"),
                )
            )
            if cap is not None:
                db.execute(
                    "UPDATE captchas SET used = 1 WHERE id_mac = ?",
                    (self._vault.mac(captcha_id, purpose="captcha"),),
                )
            stored = row["security_word_hash"] if row is not None else self._no_such_holder
            word_ok = Vault.check_password(security_word_key(security_word), stored)
            if not (captcha_ok and word_ok and row is not None):
                self._fail(db, client, "sifreli_giris")
                self._fail_holder(db, subject)
                self._audit(db, "session.login_failed", actor="anonymous", method="sifreli_giris")
                raise ApiError(401, "login_failed")
            self._check_login_sms(db, int(row["id"]), str(row["phone"]))
            pending_id = secrets.token_urlsafe(24)
            code = _random_digits(self.settings.sms_length)
            expires = now + self.settings.login_step_validity
            db.execute(
                "INSERT INTO pending_logins (id_mac, holder_id, sms_mac, expires_at, state) "
                "VALUES (?, ?, ?, ?, 'waiting')",
                (
                    self._vault.mac(pending_id, purpose="pending"),
                    row["id"],
                    self._vault.mac(code, purpose="sms"),
                    _iso(min(expires, now + self.settings.sms_validity)),
                ),
            )
            self._send_sms(db, row["phone"], "login", code)
            self._audit(db, "session.sms_sent", actor="anonymous", holder_id=row["id"])
            return {
                "pending_login_id": pending_id,
                "masked_phone": _mask_phone(row["phone"]),
                "expires_at": _iso(min(expires, now + self.settings.sms_validity)),
            }

    def _check_login_sms(self, db: sqlite3.Connection, holder_id: int, phone: str) -> None:
        """At most ``max_pending_logins`` Şifreli Giriş logins of one holder wait for their
        SMS at once, and at most ``max_sms_per_holder`` SMS go to them within
        ``sms_window``: a known security word no longer sends SMS without end."""
        now = self._now()
        db.execute(
            "DELETE FROM pending_logins WHERE expires_at <= ? OR state = 'done'", (_iso(now),)
        )
        waiting = db.execute(
            "SELECT expires_at FROM pending_logins WHERE holder_id = ? AND state = 'waiting' "
            "ORDER BY expires_at",
            (holder_id,),
        ).fetchall()
        if len(waiting) >= self.settings.max_pending_logins:
            wait = (_at(waiting[0]["expires_at"]) - now).total_seconds()
            raise ApiError(429, "rate_limited", retry_after=max(1, math.ceil(wait)))
        window = self.settings.sms_window
        sent = db.execute(
            "SELECT sent_at FROM sms_outbox WHERE phone = ? AND sent_at > ? ORDER BY sent_at",
            (phone, _iso(now - window)),
        ).fetchall()
        if len(sent) >= self.settings.max_sms_per_holder:
            wait = (_at(sent[0]["sent_at"]) + window - now).total_seconds()
            raise ApiError(429, "rate_limited", retry_after=max(1, math.ceil(wait)))

    def confirm_sifreli_giris(
        self, *, pending_login_id: str, sms_code: str, client: str
    ) -> dict[str, Any]:
        """Şifreli Giriş, second step: the SMS code opens the session."""
        key = self._vault.mac(pending_login_id, purpose="pending")
        with self._tx() as db:
            self._check_rate(db, client)
            row = db.execute(
                "SELECT holder_id, sms_mac, expires_at, wrong_answers, state "
                "FROM pending_logins WHERE id_mac = ?",
                (key,),
            ).fetchone()
            if row is None:
                self._fail(db, client, "sifreli_giris")
                raise ApiError(401, "login_failed")
            subject = self._holder_subject(db, int(row["holder_id"]))
            self._check_holder(db, subject)
            if row["state"] == "cancelled":
                raise ApiError(409, "operation_cancelled")
            if row["state"] != "waiting":
                raise ApiError(409, "conflict", reason="already_confirmed")
            if self._now() >= _at(row["expires_at"]):
                raise ApiError(410, "sms_code_expired")
            if not secrets.compare_digest(row["sms_mac"], self._vault.mac(sms_code, purpose="sms")):
                wrong = int(row["wrong_answers"]) + 1
                left = self.settings.max_confirmation_attempts - wrong
                state = "cancelled" if left <= 0 else "waiting"
                db.execute(
                    "UPDATE pending_logins SET wrong_answers = ?, state = ? WHERE id_mac = ?",
                    (wrong, state, key),
                )
                self._fail(db, client, "sifreli_giris_sms")
                self._fail_holder(db, subject)
                self._audit(
                    db, "session.sms_rejected", actor="anonymous", holder_id=row["holder_id"]
                )
                if left <= 0:
                    raise ApiError(409, "operation_cancelled")
                raise ApiError(422, "sms_code_rejected", attempts_remaining=left)
            db.execute("UPDATE pending_logins SET state = 'done' WHERE id_mac = ?", (key,))
            db.execute("DELETE FROM holder_failures WHERE subject = ?", (subject,))
            return self._open_session(db, int(row["holder_id"]), "sifreli_giris")

    def session(self, token: str) -> tuple[int, str]:
        """The holder id and login method behind a session token, or 401."""
        with self._lock:
            row = self._db.execute(
                "SELECT holder_id, method, expires_at, ended FROM sessions WHERE token_mac = ?",
                (self._vault.mac(token, purpose="session"),),
            ).fetchone()
        if row is None or row["ended"] or self._now() >= _at(row["expires_at"]):
            raise ApiError(401, "authentication_required")
        return int(row["holder_id"]), str(row["method"])

    def logout(self, token: str) -> None:
        holder_id, _ = self.session(token)
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET ended = 1 WHERE token_mac = ?",
                (self._vault.mac(token, purpose="session"),),
            )
            self._audit(db, "session.closed", actor="holder", holder_id=holder_id)

    def session_info(self, token: str) -> dict[str, Any]:
        _, method = self.session(token)
        with self._lock:
            row = self._db.execute(
                "SELECT h.tckn, s.expires_at FROM sessions s JOIN holders h ON h.id = s.holder_id "
                "WHERE s.token_mac = ?",
                (self._vault.mac(token, purpose="session"),),
            ).fetchone()
        return {"holder": row["tckn"], "method": method, "expires_at": row["expires_at"]}

    # ---- certificates -----------------------------------------------------------------

    def _certificate_json(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "serial_number": row["serial_number"],
            "card_serial": row["card_serial"],
            "product": row["product"],
            "subject": row["subject"],
            "status": row["status"],
            "not_before": row["not_before"],
            "not_after": row["not_after"],
            "expired": self._now() >= _at(row["not_after"]),
        }

    def list_certificates(self, holder_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM certificates WHERE holder_id = ? ORDER BY card_serial, "
                "serial_number",
                (holder_id,),
            ).fetchall()
        return [self._certificate_json(r) for r in rows]

    def change_certificate(
        self, holder_id: int, serial_number: str, action: str, *, confirm: bool = False
    ) -> dict[str, Any]:
        """``suspend``, ``reactivate`` ("Askıdan İndirme") or ``revoke`` (irreversible: needs
        ``confirm``). Another holder's certificate is "not found"."""
        allowed: dict[str, tuple[str, ...]] = {
            "suspend": ("active",),
            "reactivate": ("suspended",),
            "revoke": ("active", "suspended"),
        }
        target = {"suspend": "suspended", "reactivate": "active", "revoke": "revoked"}[action]
        if action == "revoke" and not confirm:
            raise ApiError(400, "bad_request", reason="confirmation_required")
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM certificates WHERE serial_number = ? AND holder_id = ?",
                (serial_number, holder_id),
            ).fetchone()
            if row is None:
                raise ApiError(404, "not_found")
            if row["status"] not in allowed[action]:
                raise ApiError(409, "conflict", reason=f"certificate_{row['status']}")
            db.execute(
                "UPDATE certificates SET status = ? WHERE serial_number = ?",
                (target, serial_number),
            )
            self._audit(
                db,
                f"certificate.{target}",
                actor="holder",
                holder_id=holder_id,
                card_serial=row["card_serial"],
                serial_number=serial_number,
            )
            updated = db.execute(
                "SELECT * FROM certificates WHERE serial_number = ?", (serial_number,)
            ).fetchone()
        log.info("Sandbox certificate %s is now %s", serial_number, target)
        return self._certificate_json(updated)

    # ---- PIN reset: the holder's side -------------------------------------------------

    def start_pin_reset(self, holder_id: int, product: Product) -> dict[str, Any]:
        """Issue a verification code for a PIN reset of ``product``. Issuing again ("Tekrar
        Kod Al") invalidates every earlier unused code of the holder for that product."""
        now = self._now()
        with self._tx() as db:
            card = db.execute(
                "SELECT 1 FROM cards WHERE holder_id = ? AND product = ?",
                (holder_id, product.value),
            ).fetchone()
            if card is None:
                raise ApiError(409, "conflict", reason="no_card_for_product")
            superseded = db.execute(
                "UPDATE codes SET state = 'superseded' WHERE holder_id = ? AND product = ? "
                "AND state = 'active'",
                (holder_id, product.value),
            ).rowcount
            code = _random_digits(self.settings.code_length)
            expires = now + self.settings.code_validity
            db.execute(
                "INSERT INTO codes (code_mac, holder_id, product, issued_at, expires_at, state) "
                "VALUES (?, ?, ?, ?, ?, 'active')",
                (
                    self._vault.mac(code, purpose="code"),
                    holder_id,
                    product.value,
                    _iso(now),
                    _iso(expires),
                ),
            )
            self._audit(
                db,
                "code.issued",
                actor="holder",
                holder_id=holder_id,
                product=product.value,
                superseded=superseded,
            )
        log.info("Sandbox verification code issued for a %s PIN reset", product.value)
        return {
            "verification_code": code,
            "product": product.value,
            "length": self.settings.code_length,
            "issued_at": _iso(now),
            "expires_at": _iso(expires),
            "validity_seconds": int(self.settings.code_validity.total_seconds()),
        }

    def view_initial_pin(self, holder_id: int, method: str, card_serial: str) -> dict[str, Any]:
        """The legacy initial PIN of a card ("PIN/PUK Bilgisi"): only in a Şifreli Giriş
        session, shown once, gone after "Sil" or a PIN change."""
        if method != "sifreli_giris":
            raise ApiError(403, "forbidden", reason="sifreli_giris_required")
        with self._tx() as db:
            row = db.execute(
                "SELECT initial_pin, initial_pin_viewed FROM cards "
                "WHERE serial = ? AND holder_id = ?",
                (card_serial, holder_id),
            ).fetchone()
            if row is None or row["initial_pin"] is None:
                raise ApiError(404, "not_found")
            if row["initial_pin_viewed"]:
                raise ApiError(409, "conflict", reason="initial_pin_already_shown")
            db.execute("UPDATE cards SET initial_pin_viewed = 1 WHERE serial = ?", (card_serial,))
            self._audit(
                db,
                "initial_pin.shown",
                actor="holder",
                holder_id=holder_id,
                card_serial=card_serial,
            )
            pin = self._vault.decrypt(row["initial_pin"], context=f"initial:{card_serial}")
        return {"card_serial": card_serial, "initial_pin": pin}

    def delete_initial_pin(self, holder_id: int, card_serial: str) -> None:
        """ "Sil": delete the legacy initial PIN for good."""
        with self._tx() as db:
            row = db.execute(
                "SELECT initial_pin FROM cards WHERE serial = ? AND holder_id = ?",
                (card_serial, holder_id),
            ).fetchone()
            if row is None or row["initial_pin"] is None:
                raise ApiError(404, "not_found")
            db.execute("UPDATE cards SET initial_pin = NULL WHERE serial = ?", (card_serial,))
            self._audit(
                db,
                "initial_pin.deleted",
                actor="holder",
                holder_id=holder_id,
                card_serial=card_serial,
                why="holder_request",
            )

    # ---- PIN reset: the desktop application's side ------------------------------------

    def redeem(self, *, verification_code: str, card_serial: str, client: str) -> dict[str, Any]:
        """Redeem a verification code for one card of its holder: opens an operation."""
        now = self._now()
        with self._tx() as db:
            self._check_rate(db, client)
            code = db.execute(
                "SELECT * FROM codes WHERE code_mac = ?",
                (self._vault.mac(verification_code, purpose="code"),),
            ).fetchone()
            if code is None or code["state"] == "superseded":
                self._fail(db, client, "code")
                self._audit(db, "code.rejected", actor="application", card_serial=card_serial)
                raise ApiError(401, "verification_code_invalid")
            if code["state"] == "redeemed":
                raise ApiError(409, "verification_code_used")
            if now >= _at(code["expires_at"]):
                raise ApiError(410, "verification_code_expired")
            card = db.execute(
                "SELECT holder_id, product, so_rotation FROM cards WHERE serial = ?",
                (card_serial,),
            ).fetchone()
            if card is None or card["holder_id"] != code["holder_id"]:
                self._audit(
                    db,
                    "code.card_not_owned",
                    actor="application",
                    holder_id=code["holder_id"],
                    card_serial=card_serial,
                )
                raise ApiError(403, "card_not_owned")
            if card["product"] != code["product"]:
                raise ApiError(409, "conflict", reason="product_mismatch")
            self._one_live_operation(db, card_serial, now)
            if card["so_rotation"]:
                self._check_so_known(db, card_serial, int(code["holder_id"]))
            db.execute("UPDATE codes SET state = 'redeemed' WHERE id = ?", (code["id"],))
            operation_id = secrets.token_urlsafe(24)
            expires = now + self.settings.operation_validity
            deadline = min(now + self.settings.pin_entry_limit, expires)
            cur = db.execute(
                "INSERT INTO operations (op_mac, code_id, holder_id, card_serial, product, "
                "redeemed_at, expires_at, pin_entry_deadline, state) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'redeemed')",
                (
                    self._vault.mac(operation_id, purpose="operation"),
                    code["id"],
                    code["holder_id"],
                    card_serial,
                    code["product"],
                    _iso(now),
                    _iso(expires),
                    _iso(deadline),
                ),
            )
            self._audit(
                db,
                "operation.redeemed",
                actor="application",
                holder_id=code["holder_id"],
                card_serial=card_serial,
                operation=cur.lastrowid,
            )
            holder = db.execute(
                "SELECT tckn FROM holders WHERE id = ?", (code["holder_id"],)
            ).fetchone()
            certificates = db.execute(
                "SELECT serial_number, status, not_before, not_after FROM certificates "
                "WHERE card_serial = ? AND product = ? ORDER BY serial_number",
                (card_serial, code["product"]),
            ).fetchall()
        log.info("Sandbox operation opened for card %s", card_serial)
        return {
            "operation_id": operation_id,
            "holder": holder["tckn"],
            "product": code["product"],
            "card_serial": card_serial,
            "expires_at": _iso(expires),
            "pin_entry_deadline": _iso(deadline),
            "certificate_status": _certificate_status(certificates, now),
            "certificates": [
                {
                    "serial_number": row["serial_number"],
                    "status": row["status"],
                    "not_before": row["not_before"],
                    "not_after": row["not_after"],
                }
                for row in certificates
            ],
        }

    def _one_live_operation(self, db: sqlite3.Connection, card_serial: str, now: datetime) -> None:
        """A card has at most one live operation. A newer redemption replaces an older
        operation that has no authorization out (the holder started again: "Tekrar Kod Al");
        while an authorization is out and unexpired, the card's desktop may be spending it, so
        the newer redemption is refused (``operation_in_progress``) and its code kept."""
        live = db.execute(
            "SELECT * FROM operations WHERE card_serial = ? AND expires_at > ? "
            "AND state IN ('redeemed', 'challenged', 'authorized')",
            (card_serial, _iso(now)),
        ).fetchall()
        for op in live:
            out = op["state"] == "authorized" and now < _at(op["authorization_expires_at"])
            if out:
                raise ApiError(409, "conflict", reason="operation_in_progress")
        for op in live:
            self._cancel(db, op, "superseded")

    def _operation(
        self, db: sqlite3.Connection, operation_id: str, verification_code: str, client: str
    ) -> sqlite3.Row:
        """The operation that both credentials open, or a refusal counted as a failure."""
        self._check_rate(db, client)
        op = db.execute(
            "SELECT o.*, c.code_mac FROM operations o JOIN codes c ON c.id = o.code_id "
            "WHERE o.op_mac = ?",
            (self._vault.mac(operation_id, purpose="operation"),),
        ).fetchone()
        code_ok = op is not None and secrets.compare_digest(
            op["code_mac"], self._vault.mac(verification_code, purpose="code")
        )
        if op is None or not code_ok:
            self._fail(db, client, "operation")
            raise ApiError(401, "verification_code_invalid")
        if op["state"] == "cancelled":
            raise ApiError(409, "operation_cancelled", reason=op["cancelled_why"])
        if op["state"] in ("completed", "failed"):
            raise ApiError(409, "verification_code_used")
        if self._now() >= _at(op["expires_at"]):
            raise ApiError(410, "verification_code_expired")
        row: sqlite3.Row = op
        return row

    def _cancel(self, db: sqlite3.Connection, op: sqlite3.Row, why: str) -> None:
        db.execute(
            "UPDATE operations SET state = 'cancelled', cancelled_why = ? WHERE id = ?",
            (why, op["id"]),
        )
        self._audit(
            db,
            "operation.cancelled",
            actor="portal",
            holder_id=op["holder_id"],
            card_serial=op["card_serial"],
            operation=op["id"],
            why=why,
        )
        log.info("Sandbox operation for card %s cancelled (%s)", op["card_serial"], why)

    def request_challenge(
        self, *, operation_id: str, verification_code: str, method: str, client: str
    ) -> dict[str, Any]:
        """Ask for the confirmation challenge: an SMS code to the registered phone, or the
        holder's web password ("SMS Onay veya WEB Parola"). Asking again re-sends."""
        if method not in CHALLENGE_METHODS:
            raise ApiError(400, "bad_request", reason="method")
        now = self._now()
        with self._tx() as db:
            op = self._operation(db, operation_id, verification_code, client)
            if op["state"] == "authorized":
                raise ApiError(409, "conflict", reason="already_authorized")
            if op["challenges"] == 0 and now >= _at(op["pin_entry_deadline"]):
                self._cancel(db, op, "pin_entry_timeout")
                raise ApiError(409, "operation_cancelled", reason="pin_entry_timeout")
            if op["challenges"] >= self.settings.max_challenges:
                raise ApiError(409, "conflict", reason="too_many_challenges")
            expires = min(now + self.settings.sms_validity, _at(op["expires_at"]))
            phone = db.execute(
                "SELECT phone FROM holders WHERE id = ?", (op["holder_id"],)
            ).fetchone()["phone"]
            challenge_mac = None
            if method == "sms":
                code = _random_digits(self.settings.sms_length)
                challenge_mac = self._vault.mac(code, purpose="sms")
                self._send_sms(db, phone, "pin_reset", code)
            db.execute(
                "UPDATE operations SET state = 'challenged', challenges = challenges + 1, "
                "challenge_method = ?, challenge_mac = ?, challenge_expires_at = ? WHERE id = ?",
                (method, challenge_mac, _iso(expires), op["id"]),
            )
            self._audit(
                db,
                "operation.challenged",
                actor="application",
                holder_id=op["holder_id"],
                card_serial=op["card_serial"],
                operation=op["id"],
                method=method,
            )
        return {
            "method": method,
            "expires_at": _iso(expires),
            "attempts_remaining": self.settings.max_confirmation_attempts
            - int(op["wrong_answers"]),
            "masked_phone": _mask_phone(phone) if method == "sms" else None,
            "challenges_remaining": max(
                0, self.settings.max_challenges - (int(op["challenges"]) + 1)
            ),
        }

    def confirm_challenge(
        self, *, operation_id: str, verification_code: str, answer: str, client: str
    ) -> dict[str, Any]:
        """Check the answer; the right one releases the single-use unblock authorization.
        Wrong answers count; the last allowed wrong one cancels the operation."""
        now = self._now()
        with self._tx() as db:
            op = self._operation(db, operation_id, verification_code, client)
            if op["state"] == "authorized":
                raise ApiError(409, "conflict", reason="already_authorized")
            if op["state"] != "challenged":
                raise ApiError(409, "conflict", reason="no_challenge")
            if now >= _at(op["challenge_expires_at"]):
                raise ApiError(410, "sms_code_expired")
            if op["challenge_method"] == "sms":
                right = secrets.compare_digest(
                    op["challenge_mac"], self._vault.mac(answer, purpose="sms")
                )
            else:
                stored = db.execute(
                    "SELECT password_hash FROM holders WHERE id = ?", (op["holder_id"],)
                ).fetchone()["password_hash"]
                right = Vault.check_password(answer, stored)
            if not right:
                wrong = int(op["wrong_answers"]) + 1
                left = self.settings.max_confirmation_attempts - wrong
                db.execute(
                    "UPDATE operations SET wrong_answers = ? WHERE id = ?", (wrong, op["id"])
                )
                if op["challenge_method"] == "web_password":  # a guess at the password
                    self._fail(db, client, "confirmation")
                    self._fail_holder(db, self._holder_subject(db, int(op["holder_id"])))
                self._audit(
                    db,
                    "operation.answer_rejected",
                    actor="application",
                    holder_id=op["holder_id"],
                    card_serial=op["card_serial"],
                    operation=op["id"],
                    attempts_remaining=left,
                )
                if left <= 0:
                    self._cancel(db, op, "too_many_wrong_answers")
                    raise ApiError(409, "operation_cancelled", reason="too_many_wrong_answers")
                if op["challenge_method"] == "sms":
                    raise ApiError(422, "sms_code_rejected", attempts_remaining=left)
                raise ApiError(422, "web_password_rejected", attempts_remaining=left)
            expires = min(now + self.settings.authorization_validity, _at(op["expires_at"]))
            released, fresh = self._release_so(db, op)
            db.execute(
                "UPDATE operations SET state = 'authorized', challenge_mac = NULL, "
                "authorization_expires_at = ? WHERE id = ?",
                (_iso(expires), op["id"]),
            )
            self._audit(
                db,
                "operation.authorized",
                actor="application",
                holder_id=op["holder_id"],
                card_serial=op["card_serial"],
                operation=op["id"],
                so_candidates=len(released),
                so_rotated=fresh is not None,
            )
        log.info("Sandbox unblock authorization released for card %s", op["card_serial"])
        return {
            "authorization": {
                "credential": released[0],
                "card_serial": op["card_serial"],
                "expires_at": _iso(expires),
                "operation_id": operation_id,
                "other_credential": released[1] if len(released) > 1 else None,
                "next_credential": fresh,
            }
        }

    # ---- the card's SO credential: current, pending, rotated --------------------------

    def _so_state(self, db: sqlite3.Connection, serial: str) -> tuple[sqlite3.Row, str, list[str]]:
        """The card's row, its current SO credential and the pending ones (the fresh
        credentials of released authorizations whose result the portal has not heard, oldest
        first): the card holds the current one or one of those."""
        card = db.execute("SELECT * FROM cards WHERE serial = ?", (serial,)).fetchone()
        current = self._vault.decrypt(card["so_credential"], context=f"so:{serial}")
        pending: list[str] = []
        if card["so_pending"] is not None:
            pending = json.loads(
                self._vault.decrypt(card["so_pending"], context=f"so-pending:{serial}")
            )
        return card, current, pending

    def _store_so(
        self,
        db: sqlite3.Connection,
        serial: str,
        current: str,
        pending: list[str],
        operation: int | None,
    ) -> None:
        """Record the card's SO credentials. A credential the card may have held that is
        neither current nor pending any more is retired, not forgotten (see
        :meth:`card_so_retired`)."""
        card, before, was_pending = self._so_state(db, serial)
        keep = {current, *pending}
        dropped = [c for c in [*reversed(was_pending), before] if c not in keep]
        retired = self._so_retired(card, serial)
        if dropped:
            retired = [*dropped, *(r for r in retired if r not in dropped and r not in keep)]
            retired = retired[:MAX_RETIRED_SO]
            self._audit(
                db,
                "so_credential.retired",
                actor="portal",
                holder_id=card["holder_id"],
                card_serial=serial,
                count=len(dropped),
            )
        db.execute(
            "UPDATE cards SET so_credential = ?, so_pending = ?, so_operation = ?, so_retired = ? "
            "WHERE serial = ?",
            (
                self._vault.encrypt(current, context=f"so:{serial}"),
                self._vault.encrypt(json.dumps(pending), context=f"so-pending:{serial}")
                if pending
                else None,
                operation,
                self._vault.encrypt(json.dumps(retired), context=f"so-retired:{serial}")
                if retired
                else None,
                serial,
            ),
        )

    def _so_candidates(self, db: sqlite3.Connection, serial: str) -> list[str]:
        """The credentials the card may hold, the likelier first: the newest pending one (an
        unblock that was never reported most likely lost only its report, the last and
        slowest step), then older ones, then the current."""
        _, current, pending = self._so_state(db, serial)
        return [*reversed(pending), current]

    def _check_so_known(self, db: sqlite3.Connection, serial: str, holder_id: int) -> None:
        """More candidates than one unblock can tell apart (two unblocks in a row whose
        results never came): refused, Kamu SM's helpdesk decides."""
        if len(self._so_candidates(db, serial)) > MAX_SO_CANDIDATES:
            self._audit(
                db,
                "so_credential.unknown",
                actor="portal",
                holder_id=holder_id,
                card_serial=serial,
            )
            raise ApiError(409, "conflict", reason="so_credential_unknown")

    def _release_so(self, db: sqlite3.Connection, op: sqlite3.Row) -> tuple[list[str], str | None]:
        """The candidate credentials to release (the likelier first) and, when the card's
        profile rotates, a fresh one, recorded as pending before it leaves the portal (its
        report may never come)."""
        serial = op["card_serial"]
        card, current, pending = self._so_state(db, serial)
        if not card["so_rotation"]:
            return [current], None
        self._check_so_known(db, serial, int(op["holder_id"]))
        released = [*reversed(pending), current]
        fresh = fresh_so_credential(current)
        self._store_so(db, serial, current, [*pending, fresh], int(op["id"]))
        db.execute(
            "UPDATE operations SET so_fresh = ?, so_released = ? WHERE id = ?",
            (
                self._vault.encrypt(fresh, context=f"so-fresh:{op['id']}"),
                self._vault.encrypt(json.dumps(released), context=f"so-released:{op['id']}"),
                op["id"],
            ),
        )
        return released, fresh

    def _settle_so(  # noqa: PLR0911 (one return per case of the report reads best)
        self,
        db: sqlite3.Connection,
        op: sqlite3.Row,
        changed: bool | None,
        login: str | None,
    ) -> str:
        """What the report says of the card's SO credential, applied: ``changed`` true makes
        the fresh one current (every other candidate is dead); false drops the fresh one, and
        with ``login`` the candidate the card accepted becomes current; unknown keeps every
        candidate. Only the newest release of the card counts (an older report is stale)."""
        serial = op["card_serial"]
        if op["so_fresh"] is None:
            return "fixed"
        card, current, pending = self._so_state(db, serial)
        if card["so_operation"] != op["id"]:
            return "stale"
        fresh = self._vault.decrypt(op["so_fresh"], context=f"so-fresh:{op['id']}")
        released: list[str] = json.loads(
            self._vault.decrypt(op["so_released"], context=f"so-released:{op['id']}")
        )
        accepted = None
        if login is not None:
            index = SO_LOGINS.index(login)
            accepted = released[index] if index < len(released) else None
        if changed is True:
            self._store_so(db, serial, fresh, [], None)
            return "rotated"
        if changed is False and accepted is not None:
            self._store_so(db, serial, accepted, [], None)
            return "kept"
        if changed is False:
            self._store_so(db, serial, current, [p for p in pending if p != fresh], None)
            return "fresh_dropped"
        if accepted is not None:  # the card took this one; whether it changed is unknown
            self._store_so(db, serial, accepted, [fresh], int(op["id"]))
            return "accepted_unknown_change"
        return "unknown"

    def report_result(
        self,
        *,
        operation_id: str,
        verification_code: str,
        success: bool,
        reason: str | None,
        client: str,
        so_credential_changed: bool | None = None,
        so_credential_login: str | None = None,
        wrong_so_attempts: int | None = None,
    ) -> None:
        """The desktop application's report. Success needs a released authorization, closes
        the operation and deletes the card's legacy initial PIN (the PIN changed). Either
        report may say what became of the card's SO credential (see :meth:`_settle_so`)."""
        if so_credential_login is not None and so_credential_login not in SO_LOGINS:
            raise ApiError(400, "bad_request", reason="so_credential_login")
        if wrong_so_attempts is not None and (
            isinstance(wrong_so_attempts, bool)
            or not isinstance(wrong_so_attempts, int)
            or not 0 <= wrong_so_attempts <= MAX_WRONG_SO_ATTEMPTS
        ):
            raise ApiError(400, "bad_request", reason="wrong_so_attempts")
        with self._tx() as db:
            op = self._operation(db, operation_id, verification_code, client)
            if success and op["state"] != "authorized":
                raise ApiError(409, "conflict", reason="not_authorized")
            state = "completed" if success else "failed"
            db.execute("UPDATE operations SET state = ? WHERE id = ?", (state, op["id"]))
            settled = None
            if op["state"] == "authorized":
                settled = self._settle_so(db, op, so_credential_changed, so_credential_login)
            if success:
                deleted = db.execute(
                    "UPDATE cards SET initial_pin = NULL WHERE serial = ? AND initial_pin "
                    "IS NOT NULL",
                    (op["card_serial"],),
                ).rowcount
                if deleted:
                    self._audit(
                        db,
                        "initial_pin.deleted",
                        actor="portal",
                        holder_id=op["holder_id"],
                        card_serial=op["card_serial"],
                        why="pin_changed",
                    )
            self._audit(
                db,
                f"operation.{state}",
                actor="application",
                holder_id=op["holder_id"],
                card_serial=op["card_serial"],
                operation=op["id"],
                reason=reason,
                so_credential=settled,
                wrong_so_attempts=wrong_so_attempts,
            )
        log.info("Sandbox operation for card %s reported %s", op["card_serial"], state)

    def snapshot(self) -> Mapping[str, int]:
        """Row counts per table (for demos and tests)."""
        tables = (
            "holders",
            "cards",
            "certificates",
            "codes",
            "operations",
            "sms_outbox",
            "audit",
            "captchas",
            "sessions",
            "pending_logins",
        )
        with self._lock:
            return {
                t: int(self._db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # noqa: S608 (table names from the fixed tuple above)
                for t in tables
            }
