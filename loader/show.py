"""The network as text, as a Graphviz DOT graph, or as a picture."""

from __future__ import annotations

import io
import shutil

import graphviz

from loader.model import neuron
from loader.network import STATIC, Network

PICTURE_FORMATS = ("png", "svg")
NAMES_PER_LINE = 8


def columns(net: Network) -> list[list[str]]:
    """Neuron ids column by column: the inputs, then each level."""
    groups = [net.input_names]
    for level in net.step_levels:
        groups.append([net.names[p] for p in level.targets])
    return groups


def edges(net: Network) -> list[tuple[str, str, object]]:
    """(source, target, weight) for every input of every neuron, statics included."""
    return [
        (node, name, weight)
        for name in net.names
        for node, weight in net.neurons[name]["inputs"]
    ]


def shorten(names: list[str]) -> str:
    if len(names) <= NAMES_PER_LINE:
        return ", ".join(names)
    return f"{', '.join(names[:3])}, ..., {', '.join(names[-2:])}"


def activation_label(net: Network, names: list[str]) -> str:
    found = {net.neurons[name].get("activation") or "identity" for name in names}
    return found.pop() if len(found) == 1 else "mixed activations"


def summary(net: Network) -> dict:
    """What `show --json` prints: sizes, levels, inputs, outputs and edges."""
    return {
        "neurons": len(net.names),
        "edges": net.edge_count,
        "acyclic": net.acyclic,
        "cycle": net.cycle_error,
        "inputs": net.input_names,
        "outputs": net.output_names,
        "levels": columns(net)[1:],
        "connections": [
            {"source": source, "target": target, "weight": weight}
            for source, target, weight in edges(net)
        ],
    }


def text(net: Network, db: str) -> str:
    groups = columns(net)
    lines = [
        f"network in {db!r}: {len(net.names)} neurons, {net.edge_count} edges, "
        f"{len(groups) - 1} levels after the inputs"
    ]
    if net.cycle_error:
        lines.append(f"{net.cycle_error}; levels below are distances from the inputs")
    lines.append(f"inputs ({len(groups[0])}): {shorten(groups[0])}")
    for depth, names in enumerate(groups[1:], start=1):
        kind = activation_label(net, names)
        lines.append(f"level {depth} ({len(names)}, {kind}): {shorten(names)}")
    lines.append(f"outputs ({len(net.output_names)}): {shorten(net.output_names)}")
    lines.append("edges:")
    for source, target, weight in edges(net):
        lines.append(f"  {edge_text(source, target, weight)}")
    return "\n".join(lines)


def edge_text(source: str, target: str, weight) -> str:
    if source == STATIC:
        return f"static -> {target}  value {weight}"
    return f"{source} -> {target}  weight {weight}  trust {neuron.trust(weight):.4f}"


def dot(net: Network, db: str) -> str:
    """A left-to-right DOT graph, one rank per level; red edges distrust."""
    graph = graphviz.Digraph(
        db, graph_attr={"rankdir": "LR"}, node_attr={"shape": "circle"}
    )
    for names in columns(net):
        with graph.subgraph() as rank:
            rank.attr(rank="same")
            for name in names:
                rank.node(name, node_label(net, name))
    for source, target, weight in edges(net):
        if source != STATIC:
            graph.edge(source, target, **edge_style(neuron.trust(weight)))
    return graph.source


def node_label(net: Network, name: str) -> str:
    statics = [w for node, w in net.neurons[name]["inputs"] if node == STATIC]
    if not statics:
        return name
    total = sum(neuron.static_value(w) for w in statics)
    return f"{name}\\n{total:.3g}"


def edge_style(trust: float) -> dict[str, str]:
    return {
        "color": "firebrick" if trust < 0 else "steelblue",
        "penwidth": f"{0.5 + 2.5 * abs(trust):.2f}",
        "label": f"{trust:.2f}",
    }


def picture(net: Network, db: str, fmt: str) -> bytes:
    """PNG or SVG bytes: Graphviz when its `dot` program is installed."""
    if shutil.which("dot"):
        return graphviz.Source(dot(net, db)).pipe(format=fmt)
    return matplotlib_picture(net, db, fmt)


def positions(groups: list[list[str]]) -> dict[str, tuple[float, float]]:
    """(x, y) of each neuron: one column per group, centred on y = 0."""
    places = {}
    for x, names in enumerate(groups):
        for i, name in enumerate(names):
            places[name] = (float(x), (len(names) - 1) / 2 - i)
    return places


def matplotlib_picture(net: Network, db: str, fmt: str) -> bytes:
    from matplotlib.figure import Figure

    groups = columns(net)
    places = positions(groups)
    height = max(3.0, 0.5 * max(len(names) for names in groups))
    figure = Figure(figsize=(2.5 + 2.0 * len(groups), min(height, 40.0)))
    axes = figure.add_subplot()
    for source, target, weight in edges(net):
        if source != STATIC:
            draw_edge(axes, places[source], places[target], neuron.trust(weight))
    xs, ys = zip(*places.values(), strict=True)
    axes.scatter(xs, ys, s=300, c="white", edgecolors="black", zorder=3)
    if len(places) <= 60:
        for name, (x, y) in places.items():
            axes.annotate(
                name,
                (x, y),
                xytext=(0, 12),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
    axes.set_title(f"{db}: {len(net.names)} neurons, {net.edge_count} edges", pad=16)
    axes.margins(0.08, 0.12)
    axes.set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight")
    return buffer.getvalue()


def draw_edge(axes, start, end, trust: float) -> None:
    color = "firebrick" if trust < 0 else "steelblue"
    if start == end:
        axes.scatter(*start, s=700, facecolors="none", edgecolors=color, zorder=2)
        return
    width = 0.3 + 2.5 * abs(trust)
    alpha = 0.3 + 0.7 * min(1.0, abs(trust))
    axes.plot(*zip(start, end, strict=True), color=color, linewidth=width, alpha=alpha)
