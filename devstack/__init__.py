"""The embedded local stack that `journeys dev` starts and stops: every part from packages."""
