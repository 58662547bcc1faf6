"""Settings, rule and catalog files of finlake."""

from conf.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
