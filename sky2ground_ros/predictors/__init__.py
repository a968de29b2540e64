"""Predictors that stand in for SkyNet in the localizer: the ground-truth oracle (the yardstick's
upper bound) and the classical SIFT + PnP matcher (the baseline and a model-free fallback).

Kept free of imports so that the CLI can name the predictors without loading OpenCV or torch.
"""

ORACLE = "oracle"
CLASSICAL = "classical"
"""What ``--model`` (replay, demo, evaluate-geo) calls them."""
