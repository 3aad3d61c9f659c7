"""Vietnamese full-text search behind an engine seam (tantivy | Whoosh): its own issue."""
