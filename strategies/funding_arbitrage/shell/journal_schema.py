"""The journal's schema, one migration script per version: `MIGRATIONS[i]` takes a file from version i to i + 1.

Never edit a released script: add the next one (and a test that migrates a file of the previous version).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # v0 -> v1: pairs, transitions, orders, fills, funding payments, risk state, operator commands, totals
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE pairs (pair_id TEXT PRIMARY KEY, state TEXT NOT NULL, token TEXT, updated_ts REAL NOT NULL,
                        doc TEXT NOT NULL);
    CREATE INDEX pairs_state ON pairs(state);
    CREATE TABLE pair_transitions (id INTEGER PRIMARY KEY AUTOINCREMENT, pair_id TEXT NOT NULL, ts REAL NOT NULL,
                                   from_state TEXT, to_state TEXT NOT NULL, reason TEXT);
    CREATE INDEX pair_transitions_pair ON pair_transitions(pair_id);
    CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, pair_id TEXT, state TEXT NOT NULL,
                         updated_ts REAL NOT NULL, doc TEXT NOT NULL);
    CREATE INDEX orders_state ON orders(state);
    CREATE INDEX orders_pair ON orders(pair_id);
    CREATE TABLE fills (id INTEGER PRIMARY KEY AUTOINCREMENT, client_order_id TEXT NOT NULL, trade_id TEXT NOT NULL,
                        ts REAL NOT NULL, connector TEXT NOT NULL, trading_pair TEXT NOT NULL, side TEXT NOT NULL,
                        price TEXT NOT NULL, amount TEXT NOT NULL, fee_quote TEXT NOT NULL,
                        UNIQUE (client_order_id, trade_id));
    CREATE TABLE funding_payments (connector TEXT NOT NULL, trading_pair TEXT NOT NULL, settlement_ts REAL NOT NULL,
                                   amount_quote TEXT NOT NULL, rate TEXT, pair_ids TEXT NOT NULL,
                                   PRIMARY KEY (connector, trading_pair, settlement_ts));
    CREATE TABLE risk_state (id INTEGER PRIMARY KEY CHECK (id = 1), updated_ts REAL NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE commands (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, command TEXT NOT NULL,
                           arg TEXT, source TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
                           ack_ts REAL, message TEXT);
    CREATE INDEX commands_status ON commands(status);
    CREATE TABLE totals (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # v1 -> v2: where a funding payment was learnt (event or venue history), and funding gaps (unknown while down)
    """
    ALTER TABLE funding_payments ADD COLUMN source TEXT NOT NULL DEFAULT 'event';
    CREATE TABLE funding_gaps (id INTEGER PRIMARY KEY AUTOINCREMENT, connector TEXT NOT NULL,
                               trading_pair TEXT NOT NULL, from_ts REAL NOT NULL, to_ts REAL NOT NULL,
                               reason TEXT NOT NULL, pair_ids TEXT NOT NULL);
    """,
)
