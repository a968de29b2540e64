"""Predictors that stand in for SkyNet in the localizer: the ground-truth oracle (the yardstick's
upper bound) and the classical SIFT + PnP matcher (the baseline and a model-free fallback)."""
