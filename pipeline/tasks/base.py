"""What every odah task shares: the resolved config, passed as YAML text and parsed once per task."""

from __future__ import annotations

import functools

import luigi

from ..config import Config, config_from_yaml


class ConfiguredTask(luigi.Task):
    """A task that takes the resolved config (:func:`~pipeline.config.config_to_yaml`'s text)."""

    config = luigi.Parameter(default="", significant=False,
                             description="resolved config (YAML text, not part of the task id); empty: the defaults")

    @functools.cached_property
    def cfg(self) -> Config:
        """The parsed config. Luigi asks ``complete()`` (which may read it) again and again, and
        gives one instance to every construction with equal parameters: parse it once."""
        return config_from_yaml(self.config)
