"""Importers of other service desks' data as desk history."""
