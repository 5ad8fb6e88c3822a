"""Editing a step: a form made from its class's fields (any registered kind, a user's too), or raw
JSON for any kind. Saving never changes the tape: it makes a fork whose step at the cursor is the
edited one, and opens it.

Validation happens in core (`Workspace.fork` parses the step); its message is shown in the form.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args, get_origin

import streamlit as st

from tape_studio.core.errors import InputError, TapeStudioError
from tape_studio.core.tape import StepBase, step_class
from tape_studio.core.workspace import Workspace
from tape_studio.studio.render import plain
from tape_studio.studio.state import PENDING_RUN, open_tape

_ERROR = "edit_error"
Widget = tuple[str, str, tuple[Any, ...]]
"""A form field: its name, its widget (area, line, check, choice, json) and the choices of a choice.
A text field marked `json_schema_extra=ONE_LINE` (core/tape.py) gets a line, any other text an area."""


def form_fields(kind: str) -> list[Widget] | None:
    """The form for a registered kind, from its fields' types; None for kinds without a class."""
    cls = step_class(kind)
    if cls is None:
        return None
    fields: list[Widget] = []
    for name, info in cls.model_fields.items():
        if name in ("kind", "metadata"):
            continue
        annotation = info.annotation
        if annotation is str:
            one_line = isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("editor") == "line"
            fields.append((name, "line" if one_line else "area", ()))
        elif annotation is bool:
            fields.append((name, "check", ()))
        elif get_origin(annotation) is Literal:
            fields.append((name, "choice", get_args(annotation)))
        else:
            fields.append((name, "json", ()))
    return fields


def edit_form(ws: Workspace, tape_id: str, index: int, step: StepBase) -> None:
    """The edit form for the step at `index`; widget keys carry tape and index, so moving the
    cursor starts from the step's own values."""
    prefix = f"edit_{tape_id}_{index}"
    fields = form_fields(step.kind)
    as_json = st.toggle("Edit as JSON", key=f"{prefix}_as_json", value=fields is None,
                        disabled=fields is None, help="Any kind, any field; the kind itself can change.")
    body = step.body()
    with st.form(f"{prefix}_form", border=False):
        if as_json:
            st.text_area("Step JSON", json.dumps(body, indent=2, ensure_ascii=False), height=220, key=f"{prefix}_json")
        else:
            for name, widget, choices in fields or ():
                _field(prefix, name, widget, choices, body.get(name))
        error = st.session_state.get(_ERROR)
        if error and error[0] == prefix:
            st.error(plain(error[1]))
        save, rerun = st.columns(2)
        save.form_submit_button("Save as fork", on_click=_save, args=(ws, tape_id, index, step.kind, prefix, False))
        rerun.form_submit_button("Save as fork and rerun…", type="primary",
                                 on_click=_save, args=(ws, tape_id, index, step.kind, prefix, True))
    kept = f"steps 0–{index - 1} and " if index else ""
    st.caption(f"Saving makes a new tape with {kept}your step {index}, and opens it; this tape stays as it is.")


def _field(prefix: str, name: str, widget: str, choices: tuple[Any, ...], value: Any) -> None:
    key = f"{prefix}_{name}"
    if widget == "area":
        st.text_area(name, value or "", key=key)
    elif widget == "line":
        st.text_input(name, value or "", key=key)
    elif widget == "check":
        st.checkbox(name, bool(value), key=key)
    elif widget == "choice":
        st.selectbox(name, choices, index=choices.index(value) if value in choices else 0, key=key)
    else:
        st.text_area(f"{name} (JSON)", json.dumps(value or {}, indent=2, ensure_ascii=False), key=key)


def _save(ws: Workspace, tape_id: str, index: int, kind: str, prefix: str, rerun: bool) -> None:
    try:
        data = _read_form(prefix, kind)
        fork = ws.fork(tape_id, index, [data])
    except TapeStudioError as exc:
        st.session_state[_ERROR] = (prefix, str(exc))
        return
    st.session_state.pop(_ERROR, None)
    open_tape(fork.id, index)
    if rerun:
        st.session_state[PENDING_RUN] = {"tape": fork.id, "at": None}


def _read_form(prefix: str, kind: str) -> dict[str, Any]:
    state = st.session_state
    if state.get(f"{prefix}_as_json"):
        data = _parse_json(state[f"{prefix}_json"], "step")
        if not isinstance(data, dict):
            raise InputError("step: expected a JSON object with a 'kind'")
        return data
    data: dict[str, Any] = {"kind": kind}
    for name, widget, _ in form_fields(kind) or ():
        value = state[f"{prefix}_{name}"]
        data[name] = _parse_json(value, name) if widget == "json" else value
    return data


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
