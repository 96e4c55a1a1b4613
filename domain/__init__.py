"""Models and names shared by the API, the workflows and the activities.

Nothing here does I/O, so the workflow sandbox can import it as it is.
"""
