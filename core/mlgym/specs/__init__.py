"""Specifications: every YAML file a user or a plugin writes, read, checked and made immutable.

- :mod:`~mlgym.specs.config`: YAML with positions, checked against the JSON Schemas in
  ``schemas/`` (shipped inside this part as ``mlgym.specs.schemas``), every problem at once;
- :mod:`~mlgym.specs.tasks`: :class:`TaskSpec` and :class:`DatasetSpec` from ``task.yaml`` and
  ``dataset.yaml``;
- :mod:`~mlgym.specs.tools`: tool bundles (``bundle.yaml``) and how their commands reach the shell;
- :mod:`~mlgym.specs.tooldocs`, :mod:`~mlgym.specs.schemadoc`: documentation rendered from them.

Layer: imports only :mod:`mlgym.errors`. A spec knows nothing of plugins, sandboxes or episodes.
"""

from mlgym.specs.config import (
    SCHEMA_NAMES,
    Problem,
    available_schemas,
    load_config,
    load_schema,
    load_yaml,
    validate_data,
)
from mlgym.specs.tasks import (
    Compute,
    DatasetSpec,
    Metric,
    PlayerSpec,
    TaskSpec,
    describe,
    load_dataset,
    load_task,
    parse_size_mb,
)
from mlgym.specs.tooldocs import render_markdown, render_prompt, tool_schemas, update_page
from mlgym.specs.tools import (
    HEREDOC_END,
    JSONSocketServer,
    ServiceRequestError,
    ToolBundle,
    ToolCallError,
    ToolCommand,
    expand_multiline,
    format_call,
    load_bundle,
    sandbox_bin,
    service_env_var,
    service_socket,
)

__all__ = [
    "HEREDOC_END",
    "SCHEMA_NAMES",
    "Compute",
    "DatasetSpec",
    "JSONSocketServer",
    "Metric",
    "PlayerSpec",
    "Problem",
    "ServiceRequestError",
    "TaskSpec",
    "ToolBundle",
    "ToolCallError",
    "ToolCommand",
    "available_schemas",
    "describe",
    "expand_multiline",
    "format_call",
    "load_bundle",
    "load_config",
    "load_dataset",
    "load_schema",
    "load_task",
    "load_yaml",
    "parse_size_mb",
    "render_markdown",
    "render_prompt",
    "sandbox_bin",
    "service_env_var",
    "service_socket",
    "tool_schemas",
    "update_page",
    "validate_data",
]
