""":class:`RemoteEnv`: an MLGym episode served by ``mlgym serve``, as a ``gymnasium.Env``.

::

    env = RemoteEnv("http://127.0.0.1:8765", "prisoners-dilemma", options={"protocol": "strict"})
    observation, info = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("cat strategy.py")
    env.close()

or ``gymnasium.make("mlgym-remote", url=..., task=...)`` once :mod:`mlgym.serve` is imported.
Each ``reset`` opens a new session on the server (one session per episode) and closes the
previous one; ``close`` closes the current one. The spaces are ``Text`` spaces like
:class:`~mlgym.episode.MLGymEnv`'s, checked against the server's at each reset.
"""

from __future__ import annotations

from typing import Any

import gymnasium
from gymnasium import spaces

from mlgym.errors import ConfigError, MLGymError

ENV_ID = "mlgym-remote"  # gymnasium.make(ENV_ID, url=..., task=...)
OBSERVATION_LIMIT = 20_000  # MLGymEnv's defaults
ACTION_LIMIT = 100_000


class RemoteEnvError(MLGymError, ConnectionError):
    """The server refused a request or could not be reached; the message says which and why."""

    def __init__(self, message: str, status: int | None = None, kind: str | None = None):
        super().__init__(message)
        self.status, self.kind = status, kind


class RemoteEnv(gymnasium.Env):
    """A served MLGym environment (see the module doc)."""

    metadata = {"render_modes": []}

    def __init__(self, url: str, task: str, *, token: str | None = None,
                 options: dict | None = None, timeout: float = 3600.0,
                 observation_limit: int = OBSERVATION_LIMIT, action_limit: int = ACTION_LIMIT):
        from mlgym.episode.env import text_charset

        self.url = url.rstrip("/")
        self.task = task
        self.options = dict(options or {})
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http: Any = None
        charset = text_charset()
        self._observations = spaces.Text(observation_limit, min_length=0, charset=charset)
        self._actions = spaces.Text(action_limit, min_length=0, charset=charset)
        self.observation_space, self.action_space = self._observations, self._actions
        self.session: str | None = None
        self._seed: int | None = None

    # -- gymnasium.Env ---------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if options:
            raise ConfigError(f"reset(options=...) takes no options; got {sorted(options)}; give "
                              "them to RemoteEnv(options=...)")
        super().reset(seed=seed)
        if seed is not None:
            self._seed = int(seed)
        self._close_session()
        reply = self._request("POST", "/v1/sessions", {"task": self.task, "seed": self._seed,
                                                       "options": self.options})
        self.session = reply["session"]
        self._check_spaces(reply.get("spaces") or {})
        return reply["observation"], reply["info"]

    def step(self, action: str):
        if self.session is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        reply = self._request("POST", f"/v1/sessions/{self.session}/step", {"action": action})
        return (reply["observation"], float(reply["reward"]), bool(reply["terminated"]),
                bool(reply["truncated"]), reply["info"])

    def close(self) -> None:
        """Close the session (the server removes its sandbox). Safe to call twice."""
        self._close_session()
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- the rest of the protocol ----------------------------------------------------------

    def state(self) -> dict:
        """The server's view of the current session: steps, whether it is over, the last info."""
        if self.session is None:
            raise gymnasium.error.ResetNeeded("call reset() first")
        return self._request("GET", f"/v1/sessions/{self.session}")

    def health(self) -> dict:
        return self._request("GET", "/v1/health")

    def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            try:
                self._request("DELETE", f"/v1/sessions/{session}")
            except RemoteEnvError as exc:
                if exc.status != 404:  # already gone (idle timeout): nothing to close
                    raise

    def _check_spaces(self, served: dict) -> None:
        for name, space in (("observation", self._observations), ("action", self._actions)):
            limit = (served.get(name) or {}).get("max_length")
            if limit is not None and limit != space.max_length:
                raise ConfigError(f"the server's {name} space holds {limit} characters, this "
                                  f"client's {space.max_length}: give RemoteEnv({name}_limit="
                                  f"{limit})")

    def _client(self):
        if self._http is None:
            import httpx

            self._http = httpx.Client(base_url=self.url, headers=self._headers,
                                      timeout=self.timeout)
        return self._http

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        import httpx

        try:
            response = self._client().request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise RemoteEnvError(f"{method} {self.url}{path}: {type(exc).__name__}: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise RemoteEnvError(f"{method} {path}: {response.status_code}: "
                                 f"{message or response.text[:300]}", response.status_code,
                                 data.get("kind") if isinstance(data, dict) else None)
        return data


def register() -> None:
    """Make ``gymnasium.make("mlgym-remote", url=..., task=...)`` build a :class:`RemoteEnv`."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="mlgym.serve.client:RemoteEnv")


register()
