"""Deprecated alias of `kanwidget.widget.protocol` (kept until every import uses protocol)."""
from kanwidget.widget.protocol import (COMMANDS, READ_ONLY, STOPPERS, STRUCTURAL, TRAINERS, CommandError,  # noqa: F401
                                       ModelInfo, parse_message, validate)
