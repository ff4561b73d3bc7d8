"""gilviz: threads or processes? Run Python work both ways and watch every core and worker."""

__version__ = "0.1.0"
