"""replay sub-package."""
