"""Training for the nets that ``layers`` composes into: update rules, models, the Solver."""
