"""Model settings saved in a store: the default model, the model per role and the LLM mode that
runs started from the studio use. Empty values fall back to the environment (core.config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tape_studio.core.agent import Agent
from tape_studio.core.cache import LLMCache
from tape_studio.core.config import LLMMode
from tape_studio.core.llm import LLM
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store

_KEY = "model_settings"


class ModelSettings(BaseModel):
    """Which model answers, per role, and how the cache is used."""

    model_config = ConfigDict(frozen=True)

    model: str = ""
    """The session model (litellm string); empty: TAPE_STUDIO_MODEL or the embedded model."""
    llm_mode: LLMMode | None = None
    """None: TAPE_STUDIO_LLM_MODE or "cached"."""
    role_models: dict[str, str] = Field(default_factory=dict)
    """Model per node role, over what the agent's spec says; roles left out keep the spec's choice."""


def load_settings(store: Store) -> ModelSettings:
    text = store.get_setting(_KEY)
    return ModelSettings.model_validate_json(text) if text else ModelSettings()


def save_settings(store: Store, settings: ModelSettings) -> None:
    store.set_setting(_KEY, settings.model_dump_json())


def build_llm(settings: ModelSettings, cache: LLMCache, model: str | None = None) -> LLM:
    """The client for a run: `model` (e.g. chosen on the Run page) wins over the saved default."""
    return LLM(model=model or settings.model or None, mode=settings.llm_mode, cache=cache)


def configured_agent(agent: Agent, settings: ModelSettings) -> Agent:
    """`agent` (and its sub-agents) with the per-role models applied. An override changes what a
    spec says, so it runs as a derived spec version, recorded on new tapes, rather than silently."""
    team = [agent]
    while team:
        member = team.pop()
        member.spec = _with_role_models(member.spec, settings.role_models)
        team += member.subagents.values()
    return agent


def _with_role_models(spec: AgentSpec, role_models: dict[str, str]) -> AgentSpec:
    roles = {node.role for node in spec.nodes}
    overrides = {role: model for role, model in role_models.items()
                 if model and role in roles and spec.models.get(role) != model}
    return spec.derive(models={**spec.models, **overrides}) if overrides else spec


def known_roles(specs: list[AgentSpec]) -> list[str]:
    """The node roles used by these specs, for the settings form."""
    return sorted({node.role for spec in specs for node in spec.nodes})
