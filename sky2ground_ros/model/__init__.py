"""SkyNet model: VGGT-style GAS encoder with masked satellite attention, Sat stream and heads."""

from sky2ground_ros.model.configs import CONFIG_NAMES, SkyNetConfig, get_config
from sky2ground_ros.model.skynet import Prediction, SkyNet

__all__ = ["CONFIG_NAMES", "Prediction", "SkyNet", "SkyNetConfig", "get_config"]
