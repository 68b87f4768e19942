# SPDX-License-Identifier: GPL-2.0-or-later
"""Configuration: embedded defaults, a user file, environment overrides.

Layers, later wins: ``config/careline.yaml`` (shipped defaults), the user's
file (``--config`` or ``careline.yaml`` in the user config directory), then
``CARELINE_<SECTION>__<FIELD>`` environment variables. The merged result is
validated by models (:mod:`console.core.schema`) with ``extra="forbid"``; a problem becomes a
:class:`ConfigError` naming the file, the line and the field.

The names below load on first use (PEP 562): the CLI, the engine and the console's
first frame name :class:`ConfigError` without paying for the models (when they were
pydantic's, a third of the console's start-up, measured with ``python -X importtime``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from console.core.config.errors import ConfigError

if TYPE_CHECKING:
    from console.core.config.base import CONFIG_LIMITS, ENV_NAME, ENV_PREFIX, Section
    from console.core.config.ehr import EhrConfig
    from console.core.config.loading import (
        load_config,
        user_config_file,
        with_audio_mode,
    )
    from console.core.config.phone import (
        HEADER_NAME,
        MAX_QUEUE_CAPACITY,
        AccountConfig,
        DeclineCode,
        DialConfig,
        EngineConfig,
        SipConfig,
        TlsConfig,
        parse_host_port,
    )
    from console.core.config.secret_files import (
        hub_password,
        read_secret,
        read_secret_file,
        store_key,
    )
    from console.core.config.sections import (
        AgentConfig,
        AudioConfig,
        CarelineConfig,
        DirectoryEntry,
        GuidanceConfig,
        HeadsetConfig,
        HubConfig,
        SessionConfig,
        StationConfig,
        StoreConfig,
        StoreEncryptionConfig,
        SuperviseConfig,
        UiConfig,
        WrapUpConfig,
    )
    from console.core.config.worklists import WorklistsConfig

_LAZY: dict[str, str] = {
    # base
    "CONFIG_LIMITS": "base",
    "ENV_NAME": "base",
    "ENV_PREFIX": "base",
    "Section": "base",
    # ehr
    "EhrConfig": "ehr",
    # loading
    "load_config": "loading",
    "user_config_file": "loading",
    "with_audio_mode": "loading",
    # phone
    "HEADER_NAME": "phone",
    "MAX_QUEUE_CAPACITY": "phone",
    "AccountConfig": "phone",
    "DeclineCode": "phone",
    "DialConfig": "phone",
    "EngineConfig": "phone",
    "SipConfig": "phone",
    "TlsConfig": "phone",
    "parse_host_port": "phone",
    # secret_files
    "hub_password": "secret_files",
    "read_secret": "secret_files",
    "read_secret_file": "secret_files",
    "store_key": "secret_files",
    # sections
    "AgentConfig": "sections",
    "AudioConfig": "sections",
    "CarelineConfig": "sections",
    "DirectoryEntry": "sections",
    "GuidanceConfig": "sections",
    "HeadsetConfig": "sections",
    "HubConfig": "sections",
    "SessionConfig": "sections",
    "StationConfig": "sections",
    "StoreConfig": "sections",
    "StoreEncryptionConfig": "sections",
    "SuperviseConfig": "sections",
    "UiConfig": "sections",
    "WrapUpConfig": "sections",
    # worklists
    "WorklistsConfig": "worklists",
}
"""Each lazily loaded name and the module of this package that defines it."""


def __getattr__(name: str) -> object:
    """Load ``name`` from its module the first time it is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


__all__ = [
    "CONFIG_LIMITS",
    "ENV_NAME",
    "ENV_PREFIX",
    "EhrConfig",
    "HEADER_NAME",
    "MAX_QUEUE_CAPACITY",
    "AccountConfig",
    "AgentConfig",
    "AudioConfig",
    "CarelineConfig",
    "ConfigError",
    "DeclineCode",
    "DialConfig",
    "DirectoryEntry",
    "EngineConfig",
    "GuidanceConfig",
    "HeadsetConfig",
    "HubConfig",
    "Section",
    "SessionConfig",
    "SipConfig",
    "StationConfig",
    "StoreConfig",
    "StoreEncryptionConfig",
    "SuperviseConfig",
    "TlsConfig",
    "UiConfig",
    "WorklistsConfig",
    "WrapUpConfig",
    "hub_password",
    "load_config",
    "parse_host_port",
    "read_secret",
    "read_secret_file",
    "store_key",
    "user_config_file",
    "with_audio_mode",
]
