"""Reading BehaviorTree.CPP v4 XML, as Groot2 writes it, into the position-carrying document the
YAML loader builds: an XML mission is then resolved, checked, compiled and reported like a YAML
one, and means what it means in BT.CPP.

Built-in nodes map to kinds (:data:`executive.language.btcpp_model.BUILTIN`; the ones without an
equivalent are refused by name); pre- and post-conditions become a ``conditions`` decorator;
SubTrees are expanded in place, their blackboard names renamed as BT.CPP's port remapping and
``_autoremap`` define; other IDs are our kinds in CamelCase or our own IDs. Errors name the
element, the attribute and the line:column (:func:`in_xml_terms` says the resolver's in XML terms).
"""
import re
from xml.parsers import expat

from executive.language import loader
from executive.language.btcpp_model import (BB_PORT, BUILTIN, IGNORED, KEY_FIELDS, OURS, PRE_POST, UNSUPPORTED,
                                            camel, port_value, snake)
from executive.language.errors import MissionError, MissionInvalid, did_you_mean
from executive.language.expressions import ExpressionError, Name, parse
from executive.language.kinds import KINDS
from executive.language.model import is_bb_ref

MAX_NODES = 100_000     # behaviours once subtrees are expanded (as the YAML loader's bound)
_REFUSED = object()     # a port value that was an error


class Document(loader.Mapping):
    """The document of an XML file: a loader Mapping that also knows, for each node's key path, the
    element it was read from (``xml_where``), so errors can be said in XML terms."""

    __slots__ = ("xml_where",)


class _Element:
    def __init__(self, tag, attrs, line, col):
        self.tag, self.attrs, self.line, self.col, self.children = tag, attrs, line, col, []

    def __str__(self):
        return f"<{self.tag}>" if "ID" not in self.attrs else f"<{self.tag} ID={self.attrs['ID']!r}>"


def _parse(text, filename):
    parser = expat.ParserCreate()
    root, stack = [], []

    def start(tag, attrs):
        element = _Element(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise MissionInvalid([MissionError(filename, exc.lineno, exc.offset + 1, "",
                                           f"not valid XML: {expat.ErrorString(exc.code)}")]) from None
    return root[0]


def _mapping(line, col):
    """A document mapping at expat's (1-based line, 0-based column)."""
    return loader.Mapping(start=(line, col + 1))


def _put(mapping, key, value, line, col):
    mapping.put(key, value, (line, col + 1))


class _Scope:
    """Blackboard names inside one use of a subtree. BT.CPP gives each subtree its own blackboard:
    a port remapped to ``{key}`` is the parent's entry, one remapped to text is an entry of its own
    set to that text, ``_autoremap`` makes every other name the parent's too, and the rest are
    private. Here there is one blackboard: private entries are named ``<subtree><n>__<name>``."""

    def __init__(self, parent=None, remap=None, autoremap=False, prefix=""):
        self.parent, self.autoremap, self.prefix = parent, autoremap, prefix
        self.remap = {} if remap is None else remap

    def key(self, name: str) -> str:
        """The entry ``name`` means here, as the main tree names it (``@name``: the main tree's)."""
        if name.startswith("@") or self.parent is None:
            return name.lstrip("@")
        if name in self.remap:
            return self.parent.key(self.remap[name])
        if self.autoremap:
            return self.parent.key(name)
        return f"{self.prefix}{name}"

    def script(self, text: str, dialect: str, statement=True) -> str:
        """``text`` with each blackboard name renamed for this scope (as written if it does not parse)."""
        if self.parent is None:
            return text
        try:
            program = parse(text, dialect, statement=statement)
        except ExpressionError:
            return text
        names = sorted((n for s in program.statements for n in s.walk() if isinstance(n, Name)),
                       key=lambda n: n.pos, reverse=True)
        for name in names:
            text = text[:name.pos] + self.key(name.name) + text[name.end:]
        return text

    def value(self, value):
        if is_bb_ref(value):
            return {"bb": self.key(value["bb"])}
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


class _Reader:
    def __init__(self, trees, filename, model):
        self.trees, self.filename, self.model = trees, filename, model
        self.errors, self.nodes, self.uses = [], 0, {}
        self.initial = {}           # entries a subtree's literal remapping sets: name -> text
        self.where = {}             # document key path -> the element, for errors in XML terms

    def error(self, element, message, attribute=None, hint=""):
        what = f"{element} attribute {attribute!r}" if attribute else str(element)
        self.errors.append(MissionError(self.filename, element.line, element.col + 1, what, message, hint))

    def node(self, element, scope, stack, path):
        """The document node for ``element``; after an error, a stand-in (the mission is invalid
        anyway) so that the rest of the file is still read and checked."""
        node = self._node(element, scope, stack, path)
        if node is None:
            node = _mapping(element.line, element.col)
            _put(node, "always_failure", _mapping(element.line, element.col), element.line, element.col)
        return node

    def _node(self, element, scope, stack, path):
        if len(path) > loader.MAX_DEPTH:
            self.error(element, f"mission too large: nested deeper than {loader.MAX_DEPTH} levels "
                                "once its subtrees are expanded")
            raise MissionInvalid(self.errors)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.error(element, f"the mission has more than {MAX_NODES} behaviours once its subtrees are expanded "
                                "(the limit)")
            raise MissionInvalid(self.errors)
        tag, attrs = element.tag, dict(element.attrs)
        if tag in ("Action", "Condition", "Control", "Decorator") and "ID" in attrs:
            tag = attrs.pop("ID")       # BT.CPP v3 style: <Action ID="Navigate" .../>
        conditions = {PRE_POST[k]: attrs.pop(k) for k in list(attrs) if k in PRE_POST}
        for k in IGNORED:
            attrs.pop(k, None)
        if conditions:
            inner = self.node_body(element, tag, attrs, scope, stack, path + ["conditions", "child"])
            if inner is None:
                return None
            body = _mapping(element.line, element.col)
            # named for what it holds, e.g. "_skipIf _onSuccess" (the node written keeps its own name)
            _put(body, "name", " ".join(k for k, v in PRE_POST.items() if v in conditions), element.line, element.col)
            for field, text in conditions.items():
                _put(body, field, scope.script(text, "btcpp"), element.line, element.col)
            _put(body, "child", inner, element.line, element.col)
            node = _mapping(element.line, element.col)
            _put(node, "conditions", body, element.line, element.col)
            self.where[tuple(path)] = (element, {v: k for k, v in PRE_POST.items()})
            return node
        return self.node_body(element, tag, attrs, scope, stack, path)

    def node_body(self, element, tag, attrs, scope, stack, path):
        if tag == "SubTree":
            return self.subtree(element, attrs, scope, stack, path)
        if tag in UNSUPPORTED:
            self.error(element, f"BT.CPP's {tag} has no equivalent here yet ({UNSUPPORTED[tag]})")
            return None
        if tag in BUILTIN:
            kind, fixed, ports = BUILTIN[tag]
        elif tag in OURS or snake(tag) in KINDS and KINDS[snake(tag)].category != "reference":
            kind, fixed = OURS.get(tag, (snake(tag), {}))
            ports = None
        else:
            declared = self.model.get(tag)
            hint = f"declared in <TreeNodesModel> as a {declared}; " if declared else ""
            self.error(element, f"unknown node type {tag!r}",
                       hint=hint + (did_you_mean(tag, [*BUILTIN, *OURS, *(camel(k) for k in KINDS)]) or
                                    "BT.CPP's built-in nodes and ours (README: BehaviorTree.CPP) are known"))
            return None
        body = _mapping(element.line, element.col)
        for key, value in fixed.items():
            _put(body, key, value, element.line, element.col)
        names, cases = {}, {}
        for attr, text in attrs.items():
            if attr == "name":
                _put(body, "name", text, element.line, element.col)
                continue
            if ports is None:
                field, value = attr, self.our_value(kind, fixed, attrs, attr, text, scope)
            elif attr not in ports:
                self.error(element, f"BT.CPP's {tag} has no port {attr!r}", attribute=attr,
                           hint=did_you_mean(attr, ports) or f"its ports: {', '.join(ports) or 'none'}")
                continue
            else:
                field = ports[attr][0]
                value = self.builtin_value(element, kind, attr, text, ports[attr], scope)
                if value is _REFUSED:
                    continue
            names[field] = attr
            if field.startswith("case_"):
                cases[int(field[5:])] = value
            else:
                _put(body, field, value, element.line, element.col)
        if kind == "switch":
            count = int(tag[6:])
            _put(body, "cases", [str(cases.get(i, "")) for i in range(1, count + 1)], element.line, element.col)
            if len(element.children) != count + 1:
                self.error(element, f"<{tag}> takes {count + 1} children ({count} cases and the default), "
                                    f"found {len(element.children)}")
                return None
        if kind in ("if_then_else", "while_do_else") and len(element.children) not in (2, 3):
            self.error(element, f"<{tag}> takes 2 or 3 children, found {len(element.children)}")
            return None
        category = KINDS[kind].category
        children = [self.node(c, scope, stack, path + [kind, "children", i] if category == "composite"
                              else path + [kind, "child"]) for i, c in enumerate(element.children)]
        if category == "composite":
            seq = loader.Sequence([c for c in children], start=(element.line, element.col + 1))
            seq.items_at = [(child.line, child.col + 1) for child in element.children]
            _put(body, "children", seq, element.line, element.col)
        elif category == "decorator" and len(children) == 1:
            _put(body, "child", children[0], element.children[0].line, element.children[0].col)
        elif category == "decorator" or children:
            self.error(element, f"<{tag}> takes {'one child' if category == 'decorator' else 'no children'}, "
                                f"found {len(children)}")
            return None
        node = _mapping(element.line, element.col)
        _put(node, kind, body, element.line, element.col)
        self.where[tuple(path)] = (element, {**{v: k for k, v in names.items()}, **_renamed(tag)})
        return node

    def builtin_value(self, element, kind, attr, text, port, scope):
        """The value of port ``attr`` of a BT.CPP built-in, as field ``port[0]`` of ``kind``
        (:data:`_REFUSED` after an error)."""
        field, convert = port
        try:
            value = convert(text)
        except (ValueError, KeyError) as exc:
            if field == "queue":
                self.error(element, str(exc), attribute=attr)
                return _REFUSED
            value = text if convert is str else loader.value(text) if text.strip() else text
        ref = BB_PORT.match(value.strip()) if isinstance(value, str) else None
        if field in ("code", "check", "if"):
            return scope.script(value, "btcpp", statement=field != "check")
        if field in ("key", "variable") and (field == "key") == bool(ref):
            # BT.CPP reads these ports' text: output_key="{n}" writes the entry *named by* n's
            # value, and variable="a" compares the text "a". Neither means what it would here.
            self.error(element, f"{attr}={text!r}: " + (
                "BT.CPP would use the entry named by that entry's value; name the entry itself, "
                f"e.g. {attr}=\"{ref[1] if ref else ''}\"" if field == "key" else
                "BT.CPP would compare that text itself; compare an entry, e.g. variable=\"{mode}\""), attribute=attr)
            return _REFUSED
        if field in ("key", "variable") or kind == "loop" and field == "value":    # an entry's name
            return scope.key(ref[1] if ref else value.strip())
        if ref:         # {key}, {=} (the entry named as the port), and SetBlackboard's value="{key}" (a copy)
            return {"bb": scope.key(attr if ref[1] == "=" else ref[1])}
        return value

    def our_value(self, kind, fixed, attrs, attr, text, scope):
        """The value of attribute ``attr`` of one of our node types (a field of ``kind``)."""
        spec = KINDS[kind].fields.get(attr)
        if spec is not None and spec.type in ("check", "script"):        # expressions: text as written
            dialect = fixed.get("dialect") or attrs.get("dialect") or \
                getattr(KINDS[kind].fields.get("dialect"), "default", None) or "yaml"
            return scope.script(text, dialect, statement=spec.type == "script")
        value = port_value(text)
        if is_bb_ref(value) and value["bb"] == "=":       # {=}: the entry named as the port
            value = {"bb": attr}
        if attr in KEY_FIELDS and isinstance(value, str):
            return scope.key(value)
        return scope.value(value)

    def subtree(self, element, attrs, scope, stack, path):
        """A use of another <BehaviorTree>, expanded here with its blackboard names renamed."""
        target = attrs.pop("ID", None)
        name = attrs.pop("name", None)
        if target not in self.trees:
            self.error(element, f"no <BehaviorTree ID={target!r}> in this file",
                       hint=did_you_mean(target, self.trees) or f"trees: {', '.join(self.trees)}")
            return None
        if target in stack:
            self.error(element, f"subtree {target!r} uses itself ({' -> '.join(stack + [target])})")
            return None
        autoremap = attrs.pop("_autoremap", "false").strip().lower() in ("true", "1")
        self.uses[target] = self.uses.get(target, 0) + 1
        prefix = re.sub(r"\W", "_", target) + str(self.uses[target]) + "__"
        remap = {}
        inner = _Scope(scope, remap, autoremap, prefix)
        for port, text in attrs.items():
            if port.startswith("_"):
                self.error(element, f"unknown attribute {port!r} of <SubTree>", attribute=port)
                continue
            ref = BB_PORT.match(text.strip())
            if ref:
                remap[port] = port if ref[1] == "=" else ref[1]
            else:           # a text value: the subtree's own entry, set to the text (as BT.CPP does)
                self.initial[inner.key(port)] = text
        tree = self.trees[target]
        if len(tree.children) != 1:
            self.error(tree, "a <BehaviorTree> holds exactly one node")
            return None
        node = self.node(tree.children[0], inner, stack + [target], path)
        body = next(iter(node.values()))
        if name or "name" not in body:      # the use's name (BT.CPP shows the SubTree node), else its ID
            _put(body, "name", name or target, element.line, element.col)
        return node


def _renamed(tag):
    """Our field -> BT.CPP attribute, for errors about a built-in's ports."""
    if tag not in BUILTIN:
        return {}
    return {field: port for port, (field, _) in BUILTIN[tag][2].items()}


def _model(root):
    """{ID: category} of the node types a <TreeNodesModel> declares."""
    out = {}
    for model in (e for e in root.children if e.tag == "TreeNodesModel"):
        for entry in model.children:
            if "ID" in entry.attrs:
                out[entry.attrs["ID"]] = entry.tag
    return out


def load(path) -> loader.Mapping:
    text = open(path, encoding="utf-8").read()
    return loads(text, str(path))


def loads(text, filename="<mission>", errors=None) -> loader.Mapping:
    """The document (as :func:`executive.language.loader.loads` builds one) of BT.CPP v4 XML: the
    main tree with every SubTree expanded. Raises MissionInvalid with errors in XML terms; given a
    list ``errors``, adds them to it instead where the rest of the file can still be checked."""
    root = _parse(text, filename)
    trees = [e for e in root.children if e.tag == "BehaviorTree"] if root.tag == "root" else []
    if not trees:
        raise MissionInvalid([MissionError(filename, root.line, root.col + 1, str(root),
                                           "expected <root> with <BehaviorTree ID=...> elements")])
    by_id = {t.attrs.get("ID", "MainTree"): t for t in trees}
    main = root.attrs.get("main_tree_to_execute") or (trees[0].attrs.get("ID", "MainTree") if len(trees) == 1 else "")
    reader = _Reader(by_id, filename, _model(root))
    if main not in by_id:
        reader.error(root, f"which tree is the mission? main_tree_to_execute={main!r} names none of "
                           f"{', '.join(by_id)}", attribute="main_tree_to_execute")
        raise MissionInvalid(reader.errors)
    doc = Document(start=(root.line, root.col + 1))
    doc.xml_where = {}
    _put(doc, "name", main, root.line, root.col)
    tree = by_id[main]
    if len(tree.children) != 1:
        reader.error(tree, "a <BehaviorTree> holds exactly one node")
        raise MissionInvalid(reader.errors)
    node = reader.node(tree.children[0], _Scope(), [main], ["tree"])
    if node is not None:
        _put(doc, "tree", node, tree.line, tree.col)
    board = port_value(root.attrs["blackboard"]) if "blackboard" in root.attrs else {}
    if reader.initial:
        board = dict(board) if isinstance(board, dict) else {}
        board.update(reader.initial)
    if board or "blackboard" in root.attrs:
        _put(doc, "blackboard", board, root.line, root.col)
    doc.xml_where = reader.where
    if reader.errors and errors is None:
        raise MissionInvalid(reader.errors)
    if errors is not None:
        errors.extend(reader.errors)
    return doc


def in_xml_terms(error: MissionError, doc) -> MissionError:
    """``error`` (found in the document of an XML file) with its place said as XML: the element,
    and the attribute when it is about one, instead of a key path."""
    where = getattr(doc, "xml_where", None)
    if not where or not error.keys:
        return error
    keys = list(error.keys)
    for end in range(len(keys), 0, -1):
        if tuple(keys[:end]) in where:
            element, attributes = where[tuple(keys[:end])]
            rest = keys[end:]
            if rest and rest[0] in KINDS or rest and rest[0] == "conditions":
                rest = rest[1:]
            what = str(element)
            if rest and isinstance(rest[0], str) and rest[0] not in ("child", "children"):
                what += f" attribute {attributes.get(rest[0], rest[0])!r}"
                if len(rest) > 1:
                    what += "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in rest[1:])
            return MissionError(error.file, element.line, element.col + 1, what, error.message, error.hint,
                                error.severity, error.keys)
    return error
