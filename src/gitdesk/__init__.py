"""gitdesk: an ITIL service desk whose database is a git repository."""

__version__ = "0.1.0"
