"""The HTTP API: the form page, intake, and (later) patient, staff and clinic routes."""
