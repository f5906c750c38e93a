"""highlightd: texts you when you are mentioned on IRC, and says your SMS answer back."""

__version__ = "0.1.0"
