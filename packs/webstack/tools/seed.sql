PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, item TEXT NOT NULL, qty INTEGER NOT NULL, unit_price REAL NOT NULL,
    total REAL NOT NULL, status TEXT NOT NULL DEFAULT 'pending', notes TEXT,
    created REAL NOT NULL, instance TEXT);
INSERT INTO orders VALUES ('canary-0001', 'widget', 2, 9.5, 19.0, 'confirmed', '', 1764547200, 'seed');
INSERT INTO orders VALUES ('canary-0002', 'gadget', 1, 120.0, 120.0, 'confirmed', '', 1764550800, 'seed');
INSERT INTO orders VALUES ('canary-0003', 'sprocket', 10, 0.75, 7.5, 'confirmed', '', 1764554400, 'seed');
PRAGMA wal_checkpoint(TRUNCATE);
