"""The Train page's figures, drawn with Vega-Lite (altair): the browser loads Streamlit's Vega chunk
(under 1 MB) instead of its plotly one (4.7 MB). Labels come from our own data (ids, node names,
numbers). Free text goes into tooltips as it is: Vega's tooltip handler escapes it and shows it as
text, so escaping it here would show `&lt;` literally."""

from __future__ import annotations

import math
from collections import defaultdict

import altair as alt
import pandas as pd

from tape_studio.core.graph import node_columns
from tape_studio.core.spec import AgentSpec, Edge

DECISION_COLORS = {"accepted": "#2e7d32", "rejected": "#c62828", "no_candidate": "#9e9e9e", "solved": "#1565c0"}
CHANGE_COLORS = {"same": "#90a4ae", "changed": "#ef6c00", "added": "#2e7d32"}
SERIES_COLORS = {"train (minibatch mean)": "#1f77b4", "validation": "#ff7f0e"}
SPEND_COLOR = "#616161"
EDGE_COLOR = "#607d8b"
SVG = {"embedOptions": {"renderer": "svg"}}
"""Drawn as SVG (a few hundred marks at most): its axes and tick labels are elements a browser test can read."""


def score_chart(epochs: pd.DataFrame, steps: pd.DataFrame) -> alt.LayerChart:
    """Train and validation per epoch, a marker per step (colour = decision), spend on a second axis."""
    trained = epochs[epochs["epoch"] > 0]
    lines = pd.concat([pd.DataFrame({"x": trained["epoch"], "score": trained["train"], "series": "train (minibatch mean)"}),
                       pd.DataFrame({"x": epochs["epoch"], "score": epochs["val"], "series": "validation"})])
    lines = lines.dropna(subset=["score"]).astype({"x": float, "score": float})
    markers = pd.DataFrame({"x": steps["x"].astype(float), "score": steps["candidate"].fillna(steps["train"]).astype(float),
                            "series": [f"step: {d}" for d in steps["decision"]], "reason": steps["reason"].astype(str)})
    spend, label = _spend(steps, epochs)
    series = [*SERIES_COLORS, *sorted(set(markers["series"])), label]
    colors = [SERIES_COLORS.get(s) or DECISION_COLORS.get(s.removeprefix("step: "), "#000") for s in series[:-1]]
    color = alt.Color("series:N", title=None, scale=alt.Scale(domain=series, range=[*colors, SPEND_COLOR]),
                      legend=alt.Legend(orient="bottom", columns=3))
    last = int(epochs["epoch"].max()) if len(epochs) else 1
    # Steps sit between whole epochs, but ticks mark only the epochs.
    x = alt.X("x:Q", title="epoch", scale=alt.Scale(domain=[-0.15, max(last, 1) + 0.15], nice=False, zero=False),
              axis=alt.Axis(values=list(range(max(last, 1) + 1)), format="d"))
    score = alt.Y("score:Q", title="score", scale=alt.Scale(zero=True))
    scores = alt.Chart(lines).mark_line(point=True).encode(
        x=x, y=score, color=color, tooltip=[alt.Tooltip("series:N"), alt.Tooltip("x:Q", title="epoch"),
                                            alt.Tooltip("score:Q", format=".3f")])
    step_marks = alt.Chart(markers).mark_point(shape="diamond", size=110, filled=True, opacity=1).encode(
        x=x, y=score, color=color, tooltip=[alt.Tooltip("series:N"), alt.Tooltip("score:Q", format=".3f"),
                                            alt.Tooltip("reason:N")])
    money = label.startswith("cost")
    # The spend axis gets its own round ticks (in plotly it took the score axis's grid: 43 / 64 / 85 calls).
    spend_axis = alt.Axis(orient="right", grid=False, format="$,.3~f" if money else ",d", tickCount=6,
                          **({} if money else {"tickMinStep": 1}))
    spent = alt.Chart(spend.assign(series=label)).mark_line(strokeDash=[2, 3]).encode(
        x=x, y=alt.Y("y:Q", title=label, scale=alt.Scale(zero=True, nice=True), axis=spend_axis), color=color,
        order="order:Q")
    # Scores and step markers share the left axis; only the spend layer gets an axis of its own.
    chart = alt.layer(alt.layer(scores, step_marks), spent).resolve_scale(y="independent").properties(height=380)
    return chart.properties(usermeta=SVG)


def _spend(steps: pd.DataFrame, epochs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Cumulative cost, or cumulative LLM calls when the model is free (the embedded one is)."""
    column = "total_cost" if float(epochs["total_cost"].max() if len(epochs) else 0) > 0 else "total_calls"
    points = pd.concat([pd.DataFrame({"x": epochs["epoch"], "y": epochs[column]}),
                        pd.DataFrame({"x": steps["x"], "y": steps[column]})]).astype(float).sort_values(["x", "y"])
    points["order"] = range(len(points))
    return points, ("cost ($, cumulative)" if column == "total_cost" else "LLM calls (cumulative)")


def length_chart(lengths: pd.DataFrame) -> alt.LayerChart:
    """Prompt characters per node and version: adopted versions joined by a line, rejected ones as crosses."""
    versions = list(dict.fromkeys(lengths.sort_values("order")["version"]))
    x = alt.X("version:N", title="version", sort=versions, axis=alt.Axis(labelAngle=0))
    y = alt.Y("chars:Q", title="prompt characters")
    tooltip = ["node:N", "version:N", "chars:Q"]
    adopted = alt.Chart(lengths[lengths["adopted"]]).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("node:N", legend=alt.Legend(orient="bottom")), order="order:Q", tooltip=tooltip)
    rejected = alt.Chart(lengths[~lengths["adopted"]].assign(kind="rejected")).mark_point(
        shape="cross", size=90, filled=True, angle=45).encode(x=x, y=y, color="node:N", tooltip=[*tooltip, "kind:N"])
    return alt.layer(adopted, rejected).properties(height=340)


def graph_chart(spec: AgentSpec, nodes: dict[str, str], new_edges: set[Edge]) -> alt.LayerChart:
    """The workflow graph left to right by distance from the entry; changed parts coloured."""
    position = _layout(spec)
    edges = pd.DataFrame([{"x": position[e.source][0], "y": position[e.source][1], "x2": position[e.target][0],
                           "y2": position[e.target][1], "when": e.when or "",
                           "edge": "added" if e in new_edges else "kept"} for e in spec.edges],
                         columns=["x", "y", "x2", "y2", "when", "edge"])
    heads = edges.assign(hx=edges["x"] + 0.75 * (edges["x2"] - edges["x"]), hy=edges["y"] + 0.75 * (edges["y2"] - edges["y"]),
                         angle=[_angle(r.x, r.y, r.x2, r.y2) for r in edges.itertuples()])
    points = pd.DataFrame([{"name": name, "change": nodes.get(name, "same"), "x": position[name][0], "y": position[name][1],
                            "about": f"{spec.node(name).type}: {spec.node(name).description}"} for name in position])
    axis = {"axis": None}
    edge_color = alt.Color("edge:N", scale=alt.Scale(domain=["kept", "added"], range=[EDGE_COLOR, CHANGE_COLORS["added"]]),
                           legend=None)
    lines = alt.Chart(edges).mark_rule(strokeWidth=2).encode(
        x=alt.X("x:Q", scale=alt.Scale(padding=40), **axis), y=alt.Y("y:Q", scale=alt.Scale(padding=40), **axis),
        x2="x2:Q", y2="y2:Q", color=edge_color)
    arrows = alt.Chart(heads).mark_point(shape="triangle-right", size=140, filled=True, opacity=1).encode(
        x="hx:Q", y="hy:Q", angle=alt.Angle("angle:Q", scale=None), color=edge_color, tooltip=["when:N"])
    conditions = alt.Chart(heads[heads["when"] != ""]).mark_text(dy=-10, fontSize=11).encode(
        x="hx:Q", y="hy:Q", text="when:N")
    change = alt.Color("change:N", title=None, legend=alt.Legend(orient="bottom"),
                       scale=alt.Scale(domain=list(CHANGE_COLORS), range=list(CHANGE_COLORS.values())))
    dots = alt.Chart(points).mark_circle(size=600, opacity=1).encode(
        x="x:Q", y="y:Q", color=change, tooltip=["name:N", "about:N"])
    names = alt.Chart(points).mark_text(dy=-24, fontSize=12).encode(x="x:Q", y="y:Q", text="name:N")
    # Edges and nodes colour by different fields: each keeps its own scale, and the nodes' has the legend.
    return alt.layer(lines, arrows, conditions, dots, names).resolve_scale(color="independent").properties(height=300)


def _angle(x0: float, y0: float, x1: float, y1: float) -> float:
    """Where an arrowhead points, in degrees clockwise from pointing right (screen y grows downwards),
    measured in data units: the chart's aspect ratio bends it a little."""
    return math.degrees(math.atan2(y0 - y1, x1 - x0)) % 360 if (x0, y0) != (x1, y1) else 0.0


def _layout(spec: AgentSpec) -> dict[str, tuple[float, float]]:
    layers: dict[int, list[str]] = defaultdict(list)
    for name, column in node_columns(spec).items():
        layers[column].append(name)
    return {name: (float(layer), float(-row)) for layer, names in layers.items() for row, name in enumerate(names)}
