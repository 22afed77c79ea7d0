CREATE TABLE orders (
    id TEXT PRIMARY KEY, item TEXT NOT NULL, qty INTEGER NOT NULL, unit_price REAL NOT NULL,
    total REAL NOT NULL, status TEXT NOT NULL, notes TEXT, created REAL NOT NULL,
    instance TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO orders SELECT printf('2025-%05d', i), 'archived item ' || (i % 17), 1 + i % 5,
    round(1 + (i % 40) * 1.25, 2), round((1 + i % 5) * (1 + (i % 40) * 1.25), 2),
    'confirmed', '', 1735689600 + i * 60000, 'archive' FROM n;
