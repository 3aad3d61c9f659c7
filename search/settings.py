"""The search domain's configuration (HOSO_* variables): the engine behind the seam, and background indexing.

The index is derived data under data_dir/index/<engine>/: changing the engine means `hoso reindex`.
"""

from __future__ import annotations

from pydantic import Field

from archive.settings import ArchiveSettings


class SearchSettings(ArchiveSettings):
    search_engine: str = Field(
        default="tantivy",
        pattern="^(tantivy|whoosh|postgres)$",
        description="tantivy or whoosh (a folder on this machine), or postgres (shared by every node)",
    )
    index_worker: bool = Field(default=True, description="Index changes in the background of `hoso serve`")
