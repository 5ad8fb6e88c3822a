"""Settings: the models and LLM mode that runs started here use (saved in the store), and the cache."""

import streamlit as st

from tape_studio.core.config import LLM_MODES, default_llm_mode, default_model
from tape_studio.core.errors import ConfigError
from tape_studio.core.settings import ModelSettings, known_roles, load_settings, save_settings
from tape_studio.studio.render import plain
from tape_studio.studio.state import get_workspace

MODE_HELP = {"live": "always ask the model, and record its answers",
             "cached": "answer repeated prompts from the cache, ask the model otherwise",
             "replay": "answer only from recorded calls; a new prompt stops the run with a diff"}

ws = get_workspace()
st.title("Settings")
settings = load_settings(ws.store)
try:
    env_mode = default_llm_mode()
except ConfigError as exc:
    st.warning(plain(f"{exc}; using cached"))
    env_mode = "cached"
roles = known_roles([*ws.agents(), *ws.store.list_specs()])

st.subheader("Models")
with st.form("settings_form"):
    st.text_input("Default model", value=settings.model, key="settings_model", placeholder=default_model(),
                  help="Any litellm model string. Empty: TAPE_STUDIO_MODEL, else the embedded local/smollm2.")
    mode = settings.llm_mode or env_mode
    st.radio("LLM mode", LLM_MODES, index=LLM_MODES.index(mode), key="settings_mode", horizontal=True,
             captions=[MODE_HELP[m] for m in LLM_MODES])
    st.caption("Model per role: nodes name a role; an empty field leaves the role to the agent's spec "
               "or the default model.")
    for role in roles:
        st.text_input(plain(f"Role {role!r}"), value=settings.role_models.get(role, ""), key=f"settings_role_{role}")
    saved = st.form_submit_button("Save", type="primary")
if saved:
    state = st.session_state
    save_settings(ws.store, ModelSettings(
        model=state["settings_model"].strip(), llm_mode=state["settings_mode"],
        role_models={role: state[f"settings_role_{role}"].strip() for role in roles if state[f"settings_role_{role}"].strip()},
    ))
    st.success("Saved. New runs, reruns and previews use these settings.")

st.subheader("LLM cache")
stats = ws.cache.stats()
left, right = st.columns(2)
left.metric("Recorded answers", stats["entries"])
right.metric("Size (MB)", f"{stats['bytes'] / 1e6:.2f}")
st.text(f"cache: {ws.cache.directory}\nstore: {ws.store.path}")
if st.session_state.get("settings_clearing"):
    st.warning("Clear every recorded answer? Replay mode will then fail for every prompt, "
               "and cached mode will ask the model again.")
    yes, no = st.columns(2)
    if yes.button("Clear the cache", type="primary"):
        st.session_state["settings_clearing"] = False
        st.session_state["settings_cleared"] = ws.cache.clear()
        st.rerun()
    if no.button("Cancel"):
        st.session_state["settings_clearing"] = False
        st.rerun()
else:
    if "settings_cleared" in st.session_state:
        st.success(f"Removed {st.session_state.pop('settings_cleared')} recorded answers.")
    st.button("Clear the cache…", on_click=lambda: st.session_state.update(settings_clearing=True),
              disabled=stats["entries"] == 0)
