-- A counter that every write to `content` bumps, in the same transaction, from
-- any process (another instance, `folionaut mcp`, `folionaut restore`, a SQL
-- shell). Each server polls it and drops its cached reads when it moves, so
-- writes it did not make itself show up within about a second.
-- Derived data: dumps keep the table but not its row.
CREATE TABLE IF NOT EXISTS folionaut_content_changes (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    counter INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS content_changes_insert AFTER INSERT ON content BEGIN
    INSERT INTO folionaut_content_changes (id, counter) VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET counter = counter + 1;
END;
CREATE TRIGGER IF NOT EXISTS content_changes_update AFTER UPDATE ON content BEGIN
    INSERT INTO folionaut_content_changes (id, counter) VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET counter = counter + 1;
END;
CREATE TRIGGER IF NOT EXISTS content_changes_delete AFTER DELETE ON content BEGIN
    INSERT INTO folionaut_content_changes (id, counter) VALUES (1, 1)
        ON CONFLICT (id) DO UPDATE SET counter = counter + 1;
END;
