"""The journal: one SQLite file per config (`journal_file`, WAL, one transaction per event) that survives restarts.

It holds what the strategy must not forget: pairs (documents keyed by pair id, state indexed) and their transitions,
every order (documents keyed by client order id) and fill, funding payments per leg (keyed venue + market +
settlement time, so simultaneous payments on two venues are both kept) and funding gaps (downtime whose funding is
unknown), the risk state (trading state, halt, equity peak, daily start equity, error history), operator commands,
and monotonically growing totals (`totals()`: fees, funding received and paid, counts) from which Prometheus
counters are restored across restarts.

The file is versioned (`meta` table: application, schema_version); `MIGRATIONS[i]` takes version i to i + 1 and a
fresh file runs them all. A file that is not SQLite, not this application's, corrupt, or newer than this code is
refused with `JournalError` and never written to. Amounts are stored as Decimal text.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .journal_schema import MIGRATIONS
from .state_codec import doc_text

log = logging.getLogger(__name__)

APPLICATION = "funding-arb-journal"
SQLITE_HEADER = b"SQLite format 3\x00"
MAX_COMMANDS_SHOWN = 20
SCHEMA_VERSION = len(MIGRATIONS)


class JournalError(RuntimeError):
    """The journal file cannot be used (corrupt, foreign, newer than this code); it was left untouched."""


@dataclass(frozen=True)
class Command:
    """One operator command (`funding-arb ctl`): status pending -> acting (flatten, until flat) -> done | rejected."""

    id: int
    ts: float
    command: str
    arg: str | None
    source: str
    status: str
    ack_ts: float | None
    message: str | None


@dataclass(frozen=True)
class FundingPayment:
    connector: str
    trading_pair: str
    settlement_ts: float
    amount_quote: Decimal
    rate: Decimal | None
    source: str
    pair_ids: tuple[str, ...]


def _dumps(doc: Any) -> str:
    """A journal document: compact JSON, keys sorted, Decimal as text, enums by value, sets as sorted lists (the
    state codec's encoding, so a pair's document is the same bytes in the journal and in the state file)."""
    return doc_text(doc)


class Journal:
    """The open journal of one config. Every public write is one transaction."""

    def __init__(self, path: Path) -> None:
        """Open or create the journal at `path` (parent directories created).

        Raises:
            JournalError: the file exists but is not a usable journal of this application; it is not modified.
        """
        self.path = path
        self._command_writes = 0  # commands added or acknowledged through this connection (`commands_version`)
        _refuse_foreign_file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists() and path.stat().st_size > 0
        try:
            uri = f"file:{path}?mode={'rw' if existed else 'rwc'}"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0, check_same_thread=False)
        except sqlite3.Error as e:
            raise JournalError(f"journal {path} cannot be opened ({e}); it was left untouched") from e
        try:
            if existed:
                self._check_existing()
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives the process being killed (kill -9, crash); only an OS crash or power
            # loss can drop the last commits (FULL would fsync each one: ~4 ms a commit, a replay would crawl).
            # Restart recovery reconciles with the venues either way.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate(self._version() if existed else 0)
            self._version_cursor = self._db.cursor()  # `commands_version` every tick: no cursor made each time
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise JournalError(
                f"journal {path} is corrupt ({e}); it was left untouched: move it aside after "
                "checking positions on the venues"
            ) from e
        except JournalError:
            self._db.close()
            raise

    # --- opening ------------------------------------------------------------------------------------
    def _check_existing(self) -> None:
        check = self._db.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise JournalError(f"journal {self.path} failed its integrity check ({check}); it was left untouched")
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        app = None
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='application'").fetchone()
            app = row[0] if row else None
        if app != APPLICATION:
            raise JournalError(
                f"{self.path} is a SQLite file of another application (tables {sorted(tables)}), "
                "not a funding-arb journal; it was left untouched: set journal_file to another path"
            )
        version = self._version()
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.path} has schema version {version}, newer than this code "
                f"({SCHEMA_VERSION}); upgrade funding-arb; the file was left untouched"
            )

    def _version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, version: int) -> None:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self._tx():
                for statement in MIGRATIONS[target - 1].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('application', ?)", (APPLICATION,))
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(target),))
            log.info("journal_migrated path=%s from=%d to=%d", self.path, target - 1, target)

    def _tx(self) -> sqlite3.Connection:
        """`with self._tx():` one IMMEDIATE transaction, committed on success, rolled back on error."""
        return _Transaction(self._db)  # type: ignore[return-value]

    @property
    def schema_version(self) -> int:
        return self._version()

    def close(self) -> None:
        self._db.close()

    # --- meta ---------------------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        """One statement: SQLite commits it on its own, atomically (no BEGIN / COMMIT round trips: the liveness
        mark writes one every few minutes of strategy time). An upsert, not INSERT OR REPLACE: the same row results,
        but SQLite updates it in place instead of deleting and re-inserting it (~30 % less CPU a mark)."""
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value)
        )

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # --- pairs --------------------------------------------------------------------------------------
    def put_pairs(self, pairs: Iterable[tuple[str, str, str | None, float, Any, str | None]]) -> int:
        """Upsert (pair_id, state, token, ts, document, reason) rows in one transaction; a state that differs from
        the stored one adds a transition row. Returns the number of rows written."""
        return self.put_pair_docs((p, s, t, ts, _dumps(doc), r) for p, s, t, ts, doc, r in pairs)

    def put_pair_docs(self, pairs: Iterable[tuple[str, str, str | None, float, str, str | None]]) -> int:
        """`put_pairs` with each document already encoded as the journal stores it (`_dumps`: compact JSON, keys
        sorted; state_codec.doc_text writes the same bytes). Returns the number of rows written."""
        n = 0
        with self._tx():
            for pair_id, state, token, ts, text, reason in pairs:
                row = self._db.execute("SELECT state FROM pairs WHERE pair_id=?", (pair_id,)).fetchone()
                old = row[0] if row else None
                if old != state:
                    self._db.execute(
                        "INSERT INTO pair_transitions (pair_id, ts, from_state, to_state, reason) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (pair_id, ts, old, state, reason),
                    )
                self._db.execute(
                    "INSERT OR REPLACE INTO pairs VALUES (?, ?, ?, ?, ?)", (pair_id, state, token, ts, text)
                )
                n += 1
        return n

    def load_pairs(self, states: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Pair documents (as stored), optionally only those in `states`, oldest update first."""
        rows = self._db.execute("SELECT state, doc FROM pairs ORDER BY updated_ts, pair_id").fetchall()
        wanted = set(states) if states is not None else None
        return [json.loads(doc) for state, doc in rows if wanted is None or state in wanted]

    def transitions(self, pair_id: str) -> list[tuple[float, str | None, str, str | None]]:
        """(ts, from_state, to_state, reason) of one pair, in order."""
        return self._db.execute(
            "SELECT ts, from_state, to_state, reason FROM pair_transitions WHERE pair_id=? ORDER BY id", (pair_id,)
        ).fetchall()

    # --- orders and fills ---------------------------------------------------------------------------
    def put_order(self, client_order_id: str, pair_id: str | None, state: str, ts: float, doc: Any) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?, ?)",
                (client_order_id, pair_id, state, ts, _dumps(doc)),
            )

    def load_orders(self, states: Iterable[str] | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT state, doc FROM orders ORDER BY updated_ts, client_order_id").fetchall()
        wanted = set(states) if states is not None else None
        return [json.loads(doc) for state, doc in rows if wanted is None or state in wanted]

    def order_state(self, client_order_id: str) -> str | None:
        row = self._db.execute("SELECT state FROM orders WHERE client_order_id=?", (client_order_id,)).fetchone()
        return row[0] if row else None

    def record_fill(
        self,
        client_order_id: str,
        trade_id: str,
        ts: float,
        connector: str,
        trading_pair: str,
        side: str,
        price: Decimal,
        amount: Decimal,
        fee_quote: Decimal,
    ) -> bool:
        """Store one fill (once per order and trade id) and grow the fill and fee totals; False if already stored."""
        with self._tx():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO fills (client_order_id, trade_id, ts, connector, trading_pair, side, price, "
                "amount, fee_quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (client_order_id, trade_id, ts, connector, trading_pair, side, str(price), str(amount), str(fee_quote)),
            )
            if cur.rowcount == 0:
                return False
            self._add_totals(
                {"fills": Decimal(1), "fees_paid_quote": fee_quote, "traded_notional_quote": price * amount}
            )
        return True

    def fills(self, client_order_id: str | None = None) -> list[tuple[Any, ...]]:
        sql = "SELECT client_order_id, trade_id, ts, connector, trading_pair, side, price, amount, fee_quote FROM fills"
        args: tuple[str, ...] = ()
        if client_order_id is not None:
            sql, args = sql + " WHERE client_order_id=?", (client_order_id,)
        return self._db.execute(sql + " ORDER BY id", args).fetchall()

    # --- funding ------------------------------------------------------------------------------------
    def record_funding(
        self,
        connector: str,
        trading_pair: str,
        settlement_ts: float,
        amount_quote: Decimal,
        rate: Decimal | None,
        source: str,
        pair_ids: Iterable[str],
    ) -> bool:
        """Store one leg's funding payment, keyed (connector, trading_pair, settlement_ts); False if already known
        (e.g. an event booked before the history query returned it again), in which case nothing changes."""
        with self._tx():
            cur = self._db.execute(
                "INSERT OR IGNORE INTO funding_payments (connector, trading_pair, settlement_ts, amount_quote, rate, "
                "pair_ids, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    connector,
                    trading_pair,
                    settlement_ts,
                    str(amount_quote),
                    None if rate is None else str(rate),
                    _dumps(sorted(pair_ids)),
                    source,
                ),
            )
            if cur.rowcount == 0:
                return False
            name = "funding_received_quote" if amount_quote >= 0 else "funding_paid_quote"
            self._add_totals({"funding_payments": Decimal(1), name: abs(amount_quote)})
        return True

    def funding_payments(self, connector: str | None = None, trading_pair: str | None = None) -> list[FundingPayment]:
        rows = self._db.execute(
            "SELECT connector, trading_pair, settlement_ts, amount_quote, rate, source, pair_ids "
            "FROM funding_payments ORDER BY settlement_ts, connector"
        ).fetchall()
        return [
            FundingPayment(c, p, ts, Decimal(a), None if r is None else Decimal(r), s, tuple(json.loads(ids)))
            for c, p, ts, a, r, s, ids in rows
            if (connector is None or c == connector) and (trading_pair is None or p == trading_pair)
        ]

    def record_funding_gap(
        self, connector: str, trading_pair: str, from_ts: float, to_ts: float, reason: str, pair_ids: Iterable[str]
    ) -> None:
        """Record that funding of a market over [from_ts, to_ts] is unknown (no venue history): N/A, never 0."""
        with self._tx():
            self._db.execute(
                "INSERT INTO funding_gaps (connector, trading_pair, from_ts, to_ts, reason, pair_ids) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (connector, trading_pair, from_ts, to_ts, reason, _dumps(sorted(pair_ids))),
            )
            self._add_totals({"funding_gaps": Decimal(1)})

    def funding_gap_spans(self) -> list[tuple[float, float]]:
        """(from_ts, to_ts) of every recorded funding gap, oldest first."""
        return [(a, b) for a, b in self._db.execute("SELECT from_ts, to_ts FROM funding_gaps ORDER BY from_ts")]

    def funding_gap_pairs(self) -> set[str]:
        """Pair ids whose funding total is unknown because of a gap."""
        out: set[str] = set()
        for (ids,) in self._db.execute("SELECT pair_ids FROM funding_gaps"):
            out.update(json.loads(ids))
        return out

    # --- risk state ---------------------------------------------------------------------------------
    def save_risk_state(self, ts: float, doc: dict[str, Any]) -> None:
        with self._tx():
            self._db.execute("INSERT OR REPLACE INTO risk_state VALUES (1, ?, ?)", (ts, _dumps(doc)))

    def load_risk_state(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT doc FROM risk_state WHERE id=1").fetchone()
        return json.loads(row[0]) if row else None

    # --- operator commands --------------------------------------------------------------------------
    def add_command(self, ts: float, command: str, arg: str | None, source: str) -> int:
        with self._tx():
            cur = self._db.execute(
                "INSERT INTO commands (ts, command, arg, source) VALUES (?, ?, ?, ?)", (ts, command, arg, source)
            )
            self._add_totals({"commands": Decimal(1)})
        self._command_writes += 1
        return int(cur.lastrowid or 0)

    def commands_version(self) -> tuple[int, int]:
        """Changes to the commands as cheaply as SQLite tells them: its `data_version` (grows when another connection,
        e.g. `funding-arb ctl`, commits) and this connection's command writes. Unchanged: `pending_commands` is too."""
        return int(self._version_cursor.execute("PRAGMA data_version").fetchone()[0]), self._command_writes

    def pending_commands(self) -> list[Command]:
        """Commands not yet finished (pending, or acting like a flatten that is not flat yet), oldest first."""
        rows = self._db.execute("SELECT * FROM commands WHERE status IN ('pending', 'acting') ORDER BY id").fetchall()
        return [Command(*r) for r in rows]

    def ack_command(self, command_id: int, status: str, ts: float, message: str) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE commands SET status=?, ack_ts=?, message=? WHERE id=?", (status, ts, message, command_id)
            )
        self._command_writes += 1

    def commands(self, limit: int = MAX_COMMANDS_SHOWN) -> list[Command]:
        rows = self._db.execute("SELECT * FROM commands ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [Command(*r) for r in reversed(rows)]

    # --- totals -------------------------------------------------------------------------------------
    def add_totals(self, deltas: dict[str, Decimal]) -> None:
        """Grow named totals (each delta >= 0: they restore monotonic Prometheus counters)."""
        with self._tx():
            self._add_totals(deltas)

    def _add_totals(self, deltas: dict[str, Decimal]) -> None:
        for name, delta in deltas.items():
            if not delta.is_finite() or delta < 0:
                raise ValueError(f"journal total {name} can only grow, got a delta of {delta}")
            row = self._db.execute("SELECT value FROM totals WHERE name=?", (name,)).fetchone()
            value = (Decimal(row[0]) if row else Decimal(0)) + delta
            self._db.execute("INSERT OR REPLACE INTO totals VALUES (?, ?)", (name, str(value)))

    def totals(self) -> dict[str, Decimal]:
        """Every total by name (fills, fees_paid_quote, traded_notional_quote, funding_payments,
        funding_received_quote, funding_paid_quote, funding_gaps, commands, ...): never decreasing."""
        return {name: Decimal(v) for name, v in self._db.execute("SELECT name, value FROM totals ORDER BY name")}


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _refuse_foreign_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not a SQLite database (SQLite would overwrite nothing, but an
    empty or foreign file must not become a journal silently)."""
    if path.is_dir():
        raise JournalError(f"journal path {path} is a directory")
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise JournalError(
            f"{path} is not a SQLite journal (corrupt or another kind of file); it was left "
            "untouched: move it aside, or set journal_file to another path"
        )
