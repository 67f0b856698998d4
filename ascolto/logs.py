"""JSON-lines logs (`--log-json`) for log collectors: one object per line on stderr.

Prefect's logging config points its console handler here (`ascolto/logging.yml`). Messages are
the same as the plain ones: ids, counts and timings, never transcript text or personal data.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonLines(logging.Formatter):
    """time, level, logger, message, and the flow/task run names when Prefect sets them."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object, no newlines inside."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for extra in ("flow_run_name", "flow_run_id", "task_run_name"):
            value = getattr(record, extra, None)
            if value:
                entry[extra] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
