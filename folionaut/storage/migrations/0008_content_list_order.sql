-- Indexes in list order (sortOrder ascending, newest first) so that keyset paging
-- (?cursor=…) seeks to a page instead of scanning past every earlier row, and a
-- listing's ORDER BY needs no sort of the whole table. Additive: older builds ignore them.
CREATE INDEX IF NOT EXISTS content_list_order_idx ON content (sort_order, created_at DESC);
CREATE INDEX IF NOT EXISTS content_type_list_order_idx ON content (type, sort_order, created_at DESC);
