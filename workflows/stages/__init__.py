"""The stages of a journey, in order, each a function making its moves on the journey's state.

They run inside `PatientJourney.run`; a stage returns when the journey may go on, and raises
`Ended` or `Withdrawn` (workflows/endings.py) when it ends early.
"""
