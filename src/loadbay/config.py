"""Settings from LOADBAY_* environment variables (read only when asked, never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("loadbay-data")
    database_url: str | None = None
    schema_file: Path | None = None
    tenant: str = "default"
    chunk_size: int = 50_000
    batch_size: int = 100_000

    @property
    def effective_database_url(self) -> str:
        """LOADBAY_DATABASE_URL, or the SQLite file ``loadbay.db`` in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'loadbay.db').resolve()}"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get("LOADBAY_DATA_DIR"):
            values["data_dir"] = Path(env["LOADBAY_DATA_DIR"])
        if env.get("LOADBAY_DATABASE_URL"):
            values["database_url"] = env["LOADBAY_DATABASE_URL"]
        if env.get("LOADBAY_SCHEMA"):
            values["schema_file"] = Path(env["LOADBAY_SCHEMA"])
        if env.get("LOADBAY_CHUNK_SIZE"):
            values["chunk_size"] = int(env["LOADBAY_CHUNK_SIZE"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
