"""sky2ground_ros: geo-localization of ground and aerial cameras against satellite imagery."""

__version__ = "0.1.0"
