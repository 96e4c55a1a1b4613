"""Side effects of the journey, one class per outside system, clients handed in."""
