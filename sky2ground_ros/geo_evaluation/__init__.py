"""`sky2ground evaluate-geo`: the product metric on held-out synthetic flights and drives.

What a user gets from the localizer: the share of windows that publish a pose, and that
pose's error in metres, for SkyNet checkpoints, the ground-truth oracle and the classical
matcher, through the node's own pipeline and default gate.
"""
