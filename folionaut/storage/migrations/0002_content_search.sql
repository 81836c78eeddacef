-- Full-text search over content (FTS5, ranked by bm25). Triggers keep it in
-- step with every write to `content` inside the same transaction, on every
-- backend. The index row shares the content row's rowid.
CREATE VIRTUAL TABLE IF NOT EXISTS content_search USING fts5 (
    slug, title, body, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS content_search_insert AFTER INSERT ON content BEGIN
    INSERT INTO content_search (rowid, slug, title, body) VALUES (
        new.rowid, new.slug,
        coalesce(CAST(json_extract(new.data, '$.title') AS TEXT), ''),
        (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(new.data) WHERE type = 'text')
    );
END;
CREATE TRIGGER IF NOT EXISTS content_search_delete AFTER DELETE ON content BEGIN
    DELETE FROM content_search WHERE rowid = old.rowid;
END;
CREATE TRIGGER IF NOT EXISTS content_search_update AFTER UPDATE OF slug, data ON content BEGIN
    DELETE FROM content_search WHERE rowid = old.rowid;
    INSERT INTO content_search (rowid, slug, title, body) VALUES (
        new.rowid, new.slug,
        coalesce(CAST(json_extract(new.data, '$.title') AS TEXT), ''),
        (SELECT coalesce(group_concat(value, ' '), '') FROM json_tree(new.data) WHERE type = 'text')
    );
END;
INSERT INTO content_search (rowid, slug, title, body)
    SELECT rowid, slug,
           coalesce(CAST(json_extract(data, '$.title') AS TEXT), ''),
           (SELECT coalesce(group_concat(j.value, ' '), '') FROM json_tree(content.data) AS j WHERE j.type = 'text')
    FROM content WHERE rowid NOT IN (SELECT rowid FROM content_search);
