"""The background worker: runs handlers over the events log and periodic tasks."""
