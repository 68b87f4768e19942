# SPDX-License-Identifier: GPL-2.0-or-later
"""Configuration: embedded defaults, a user file, environment overrides.

Layers, later wins: ``config/careline.yaml`` (shipped defaults), the user's
file (``--config`` or ``careline.yaml`` in the user config directory), then
``CARELINE_<SECTION>__<FIELD>`` environment variables. The merged result is
validated by pydantic models with ``extra="forbid"``; a problem becomes a
:class:`ConfigError` naming the file, the line and the field.
"""

from __future__ import annotations

from console.core.config.base import (
    CONFIG_LIMITS,
    ENV_NAME,
    ENV_PREFIX,
    ConfigError,
    Section,
)
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
