"""The retention domain's configuration (HOSO_* variables): how often `hoso serve`'s worker runs its jobs."""

from __future__ import annotations

from pydantic import Field

from archive.settings import ArchiveSettings


class RetentionSettings(ArchiveSettings):
    retention_sweep_hours: float = Field(default=24, ge=0, description="Sweep to review every N hours (0: off)")
    fixity_interval_hours: float = Field(default=168, ge=0, description="Full fixity run every N hours (0: off)")
