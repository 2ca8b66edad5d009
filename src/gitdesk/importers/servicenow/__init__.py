"""The ServiceNow incident event log importer."""
