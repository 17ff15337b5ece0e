"""The shape of the house: app packages import each other one way only, and every line kind keeps the protocol."""
import ast
import inspect
import pathlib

import pytest

from app.checkout import kinds
from app.checkout.kinds import LineKind
from app.orders.signals import order_paid

APP = pathlib.Path(__file__).resolve().parent.parent / "app"


def _node(path, root):
    first = path.relative_to(root).parts[0]
    return "__init__" if first == "__init__.py" else first.removesuffix(".py")


def import_graph(root=APP):
    """{package or top-level module: {what it imports of the app}}, imports inside functions included."""
    graph = {}
    for path in root.rglob("*.py"):
        source = _node(path, root)
        targets = graph.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] != "app":
                    continue
                names = parts[1:2] or [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name.split(".")[1] for alias in node.names if alias.name.startswith("app.")]
            else:
                continue
            targets.update(n for n in names if n != source and ((root / n).is_dir() or (root / f"{n}.py").exists()))
    return graph


def cycles(graph):
    """Strongly connected groups of more than one node (Tarjan)."""
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_two_app_packages_import_each_other():
    graph = import_graph()
    assert {"checkout", "orders", "tickets", "inventory", "events"} <= set(graph)
    assert cycles(graph) == []


def test_the_cycle_finder_sees_an_import_inside_a_function(tmp_path):
    for package, body in (("a", "from app.b import x\n"), ("b", "def late():\n    from app.a import y\n")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(body)
    assert cycles(import_graph(tmp_path)) == [["a", "b"]]


def test_every_registered_kind_keeps_the_line_kind_protocol(app):
    with app.app_context():
        registered = kinds.registered()
    assert "ticket" in registered
    for name, kind in registered.items():
        assert isinstance(kind, LineKind) and kind.name == name
        for method in ("plan", "pick", "collided", "sell", "release", "void", "describe"):
            wanted = list(inspect.signature(getattr(LineKind, method)).parameters)[1:]
            assert list(inspect.signature(getattr(kind, method)).parameters) == wanted, (name, method)


def test_a_kind_that_misses_part_of_the_protocol_is_refused(app):
    class Half:
        name = "half"
        line_schema = None

        def plan(self, event, requests, now):
            return []

    with pytest.raises(TypeError):
        kinds.register(app, Half())


def test_a_receiver_that_fails_is_logged_and_never_undoes_the_commit(app, make_shop, make_user, caplog):
    def broken(order, **_):
        raise RuntimeError("a listener that is down")

    shop = make_shop()
    order = shop.buy(make_user())
    order_paid.connect(broken)
    try:
        paid = shop.mark_paid(shop.owner, order["id"])
    finally:
        order_paid.disconnect(broken)
    assert paid.status_code == 200 and paid.json["state"] == "paid"
    assert any("signal order-paid failed" in r.getMessage() and r.exc_info for r in caplog.records)
