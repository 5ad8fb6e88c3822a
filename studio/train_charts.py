"""The Train page's plotly figures. Labels come from our own data (ids, node names, numbers);
free text shown in hovers is escaped, since plotly hovers understand a few HTML tags."""

from __future__ import annotations

import html
from collections import defaultdict

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tape_studio.core.spec import AgentSpec, Edge

DECISION_COLORS = {"accepted": "#2e7d32", "rejected": "#c62828", "no_candidate": "#9e9e9e", "solved": "#1565c0"}
CHANGE_COLORS = {"same": "#90a4ae", "changed": "#ef6c00", "added": "#2e7d32"}


def score_chart(epochs: pd.DataFrame, steps: pd.DataFrame) -> go.Figure:
    """Train and validation per epoch, a marker per step (colour = decision), spend on a second axis."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    trained = epochs[epochs["epoch"] > 0]
    figure.add_scatter(x=trained["epoch"], y=trained["train"], name="train (minibatch mean)", mode="lines+markers")
    figure.add_scatter(x=epochs["epoch"], y=epochs["val"], name="validation", mode="lines+markers")
    for decision, group in steps.groupby("decision"):
        figure.add_scatter(x=group["x"], y=group["candidate"].fillna(group["train"]), mode="markers",
                           name=f"step: {decision}", marker={"color": DECISION_COLORS.get(str(decision), "#000"),
                                                              "size": 10, "symbol": "diamond"},
                           hovertext=[html.escape(str(r)) for r in group["reason"]])
    spend, label = _spend(steps, epochs)
    figure.add_scatter(x=spend["x"], y=spend["y"], name=label, mode="lines", line={"dash": "dot"},
                       secondary_y=True)
    figure.update_layout(yaxis_title="score", height=380, margin={"t": 30})
    last = int(epochs["epoch"].max()) if len(epochs) else 1
    # Steps sit between whole epochs, but ticks mark only the epochs: plotly's own choice was 0.5.
    figure.update_xaxes(title_text="epoch", type="linear", tick0=0, dtick=1, tickformat="d",
                        range=[-0.15, max(last, 1) + 0.15])
    figure.update_yaxes(type="linear", rangemode="tozero", secondary_y=False)
    # In the browser the overlaying axis's ticks were placed at the score axis's grid lines, which
    # gave ticks like 43 / 64 / 85 calls: ask for its own round ticks.
    figure.update_yaxes(title_text=label, type="linear", rangemode="tozero", tickmode="auto", nticks=6,
                        showgrid=False, tickformat="$,.3~f" if label.startswith("cost") else ",d", secondary_y=True)
    return figure


def _spend(steps: pd.DataFrame, epochs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Cumulative cost, or cumulative LLM calls when the model is free (the embedded one is)."""
    column = "total_cost" if float(epochs["total_cost"].max() if len(epochs) else 0) > 0 else "total_calls"
    points = pd.concat([pd.DataFrame({"x": epochs["epoch"], "y": epochs[column]}),
                        pd.DataFrame({"x": steps["x"], "y": steps[column]})]).astype(float).sort_values(["x", "y"])
    return points, ("cost ($, cumulative)" if column == "total_cost" else "LLM calls (cumulative)")


def length_chart(lengths: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for node, group in lengths.groupby("node"):
        adopted = group[group["adopted"]]
        figure.add_scatter(x=adopted["version"], y=adopted["chars"], name=f"{node}", mode="lines+markers")
        rejected = group[~group["adopted"]]
        figure.add_scatter(x=rejected["version"], y=rejected["chars"], name=f"{node} (rejected)", mode="markers",
                           marker={"symbol": "x", "size": 9})
    figure.update_layout(xaxis_title="version", yaxis_title="prompt characters", height=340, margin={"t": 30})
    return figure


def graph_chart(spec: AgentSpec, nodes: dict[str, str], new_edges: set[Edge]) -> go.Figure:
    """The workflow graph left to right by distance from the entry; changed parts coloured."""
    position = _layout(spec)
    figure = go.Figure()
    for edge in spec.edges:
        (x0, y0), (x1, y1) = position[edge.source], position[edge.target]
        figure.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                              arrowhead=3, arrowsize=1.5, standoff=18, startstandoff=18,
                              arrowcolor=CHANGE_COLORS["added"] if edge in new_edges else "#607d8b",
                              text=html.escape(edge.when or ""))
    for change in ("same", "changed", "added"):
        names = [name for name, kind in nodes.items() if kind == change]
        figure.add_scatter(x=[position[n][0] for n in names], y=[position[n][1] for n in names], mode="markers+text",
                           text=names, textposition="top center", name=change,
                           marker={"size": 28, "color": CHANGE_COLORS[change]},
                           hovertext=[html.escape(f"{spec.node(n).type}: {spec.node(n).description}") for n in names])
    figure.update_layout(height=300, showlegend=True, margin={"t": 30}, xaxis={"visible": False},
                         yaxis={"visible": False})
    return figure


def _layout(spec: AgentSpec) -> dict[str, tuple[float, float]]:
    depth = {spec.entry: 0}
    frontier = [spec.entry]
    while frontier:
        current = frontier.pop(0)
        for edge in spec.edges:
            if edge.source == current and edge.target not in depth:
                depth[edge.target] = depth[current] + 1
                frontier.append(edge.target)
    layers: dict[int, list[str]] = defaultdict(list)
    for node in spec.nodes:
        layers[depth.get(node.name, max(depth.values()) + 1)].append(node.name)
    return {name: (float(layer), float(-row)) for layer, names in layers.items() for row, name in enumerate(names)}
