"""The viewer: ``mlgym view [RESULTS...]``, a local web server over episodes and benchmark runs.

- :mod:`~mlgym.view.index`: the episodes found under the given folders (``result.json`` files
  and benchmark stores), built once and cached, filtered, sorted and paged;
- :mod:`~mlgym.view.plots`: the score timeline and per-step bars as inline SVG;
- :mod:`~mlgym.view.app`: the Starlette application and its Jinja2 templates (``templates/``);
- :mod:`~mlgym.view.server`: serving it with uvicorn on loopback (or in a thread, for tests).

Layer: reads trajectories (:mod:`mlgym.agents.trajectory`), result records and benchmark
stores; imports :mod:`mlgym.scoring` for the AUP table. Starlette, uvicorn and Jinja2 come from
the ``view`` extra and load only when the viewer starts.
"""

from mlgym.view.index import EpisodeIndex, EpisodeRow

__all__ = ["EpisodeIndex", "EpisodeRow"]
